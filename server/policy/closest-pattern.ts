/**
 * The allowlist entry closest to an origin that matched nothing, with the reason it did not
 * match in words ("scheme differs (http vs https)", "host pay.acme.com.attacker.io is a
 * different domain that merely starts with pay.acme.com", ...) and — when the origin looks
 * like an attempt to pass for an allowed one — a risk:
 *  - `downgrade`: the same host as an allowed entry over an insecure scheme (http:// or
 *    ws:// where https:// or wss:// is allowed): allowing it lets a network attacker who can
 *    inject plain-HTTP content speak for the secure origin;
 *  - `lookalike`: a different registrable domain that starts, ends or contains an allowed
 *    host's name, a trailing-dot twin, or a host one or two characters away (a typo domain):
 *    names attackers register to be waved through.
 *
 * Shared by the tester's explanation (explain-handshake.ts) and the audit page's "Allow this
 * origin" confirmation, so both tell the same story. Browser-safe (tldts only). Loops over
 * all entries: the tester's and the dashboard's path, not the handshake's; linear (no
 * quadratic string distance except a bounded one on near-equal lengths).
 */
import { getDomain } from "tldts";
import type { CompiledEntry } from "./compile-policy";
import type { ParsedOrigin } from "./parse-origin";

export type ClosestPatternRisk = "downgrade" | "lookalike";

export interface ClosestPattern {
  pattern: string;
  why: string;
  risk?: ClosestPatternRisk;
}

type Origin = ParsedOrigin & { kind: "origin" };
interface Candidate extends ClosestPattern {
  score: number;
}

const SECURE_TWIN: Record<string, string> = { http: "https", ws: "wss" };

/** A downgrade when the origin uses the insecure twin of the pattern's scheme. */
function downgradeRisk(origin: Origin, patternScheme: string): ClosestPatternRisk | undefined {
  return SECURE_TWIN[origin.scheme] === patternScheme ? "downgrade" : undefined;
}

function withRisk(candidate: Candidate, risk: ClosestPatternRisk | undefined): Candidate {
  return risk ? { ...candidate, risk } : candidate;
}

export function closestToNull(entries: readonly CompiledEntry[], now: number): Candidate | undefined {
  const expired = entries.find((entry) => entry.pattern.kind === "null" && isExpired(entry, now));
  return expired
    ? { score: 0, pattern: "null", why: `the "null" entry expired at ${iso(expired.expiresAt)}` }
    : undefined;
}

export function closestToOrigin(entries: readonly CompiledEntry[], origin: Origin, now: number): Candidate | undefined {
  let best: Candidate | undefined;
  const originSite = registrableDomain(origin.host);
  for (const entry of entries) {
    const candidate = compare(entry, origin, originSite, now);
    if (candidate && (!best || candidate.score < best.score)) best = candidate;
  }
  return best;
}

function compare(entry: CompiledEntry, origin: Origin, originSite: string | null, now: number): Candidate | undefined {
  const pattern = entry.pattern;
  const expiredNote = isExpired(entry, now) ? `it matches, but the entry expired at ${iso(entry.expiresAt)}` : null;
  switch (pattern.kind) {
    case "any":
      return expiredNote ? { score: 0, pattern: "*", why: expiredNote } : undefined;
    case "null":
      return undefined;
    case "exact": {
      const differences = schemeAndPort(origin, pattern.scheme, pattern.port);
      if (origin.host === pattern.host) {
        if (differences.length === 0)
          return expiredNote ? { score: 0, pattern: pattern.pattern, why: expiredNote } : undefined;
        return withRisk(
          { score: 1 + differences.length * 0.1, pattern: pattern.pattern, why: differences.join("; ") },
          downgradeRisk(origin, pattern.scheme),
        );
      }
      const relation = hostRelation(origin.host, originSite, pattern.host, pattern.scheme, pattern.port);
      if (!relation) return undefined;
      return withRisk(
        {
          score: relation.score + differences.length * 0.1,
          pattern: pattern.pattern,
          why: withAlso(relation.why, differences),
        },
        relation.risk,
      );
    }
    case "any-port": {
      const differences = pattern.scheme === origin.scheme ? [] : [schemeDifference(origin.scheme, pattern.scheme)];
      if (origin.host === pattern.host) {
        if (differences.length === 0)
          return expiredNote ? { score: 0, pattern: pattern.pattern, why: expiredNote } : undefined;
        return withRisk(
          { score: 1.1, pattern: pattern.pattern, why: differences.join("; ") },
          downgradeRisk(origin, pattern.scheme),
        );
      }
      const relation = hostRelation(origin.host, originSite, pattern.host, pattern.scheme, null);
      if (!relation) return undefined;
      return withRisk(
        {
          score: relation.score + differences.length * 0.1,
          pattern: pattern.pattern,
          why: withAlso(relation.why, differences),
        },
        relation.risk,
      );
    }
    case "wildcard": {
      const differences = schemeAndPort(origin, pattern.scheme, pattern.port);
      const suffix = pattern.suffix;
      const host = origin.host;
      const display = `*.${suffix}`;
      if (host.endsWith(`.${suffix}`) && host.length > suffix.length + 1) {
        if (differences.length === 0)
          return expiredNote ? { score: 0, pattern: pattern.pattern, why: expiredNote } : undefined;
        return withRisk(
          { score: 1 + differences.length * 0.1, pattern: pattern.pattern, why: differences.join("; ") },
          downgradeRisk(origin, pattern.scheme),
        );
      }
      if (host === suffix) {
        const apex = `${pattern.scheme}://${suffix}${pattern.port === null ? "" : `:${pattern.port}`}`;
        return {
          score: 1.05 + differences.length * 0.1,
          pattern: pattern.pattern,
          why: withAlso(`wildcard ${display} does not cover the apex ${suffix} — add ${apex}`, differences),
        };
      }
      const trailing = trailingDotRelation(host, suffix);
      if (trailing) {
        return {
          score: 2 + differences.length * 0.1,
          pattern: pattern.pattern,
          why: withAlso(trailing, differences),
          risk: "lookalike",
        };
      }
      if (host.endsWith(suffix)) {
        return {
          risk: "lookalike",
          score: 3 + differences.length * 0.1,
          pattern: pattern.pattern,
          why: withAlso(
            `host ${host} is not a subdomain of ${suffix} (it only ends with the same characters)`,
            differences,
          ),
        };
      }
      if (host.includes(`${suffix}.`) || host.includes(`${suffix}-`)) {
        return {
          risk: "lookalike",
          score: 3 + differences.length * 0.1,
          pattern: pattern.pattern,
          why: withAlso(
            `host ${host} is not under ${suffix}: it only contains that name, and belongs to another domain`,
            differences,
          ),
        };
      }
      if (originSite !== null && originSite === registrableDomain(suffix)) {
        return {
          score: 4 + differences.length * 0.1,
          pattern: pattern.pattern,
          why: withAlso(`host ${host} is on the same site but not under ${suffix}`, differences),
        };
      }
      return undefined;
    }
  }
}

/** How an origin's host relates to a pattern's (exact or any-port) host, or null if unrelated. */
function hostRelation(
  host: string,
  originSite: string | null,
  patternHost: string,
  scheme: string,
  port: number | null,
): { score: number; why: string; risk?: ClosestPatternRisk } | null {
  const trailing = trailingDotRelation(host, patternHost);
  if (trailing) return { score: 2, why: trailing, risk: "lookalike" };
  if (host.endsWith(`.${patternHost}`)) {
    const wildcard = `${scheme}://*.${patternHost}${port === null ? "" : `:${port}`}`;
    return {
      score: 3,
      why: `host ${host} is a subdomain of ${patternHost}, but an exact pattern matches one host only — add ${wildcard} to allow its subdomains`,
    };
  }
  if (patternHost.endsWith(`.${host}`)) {
    return { score: 3, why: `host ${host} is a parent domain of ${patternHost}, not the same host` };
  }
  if (host.endsWith(patternHost)) {
    return {
      score: 3,
      why: `host ${host} is not a subdomain of ${patternHost} (it only ends with the same characters)`,
      risk: "lookalike",
    };
  }
  if (host.startsWith(`${patternHost}.`) || host.startsWith(`${patternHost}-`) || host.startsWith(patternHost)) {
    return {
      score: 3,
      why: `host ${host} is a different domain that merely starts with ${patternHost}`,
      risk: "lookalike",
    };
  }
  if (originSite !== null && originSite === registrableDomain(patternHost)) {
    return { score: 4, why: `host ${host} differs from ${patternHost} (same site, different host)` };
  }
  const distance = boundedEditDistance(host, patternHost, 2);
  if (distance <= 2) {
    return {
      score: 5 + distance * 0.1,
      why: `host ${host} differs from ${patternHost} by ${distance} character${distance === 1 ? "" : "s"} — a typo or a lookalike domain?`,
      risk: "lookalike",
    };
  }
  return null;
}

function trailingDotRelation(host: string, name: string): string | null {
  if (host === `${name}.` || host.endsWith(`.${name}.`)) {
    return `trailing dot: ${host} is a different host from ${host.slice(0, -1)} (a trailing-dot name never matches a pattern without one)`;
  }
  if (`${host}.` === name) return `trailing dot: the pattern names ${name}, a different host from ${host}`;
  return null;
}

function schemeAndPort(origin: Origin, scheme: string, port: number | null): string[] {
  const differences: string[] = [];
  if (origin.scheme !== scheme) differences.push(schemeDifference(origin.scheme, scheme));
  if (origin.port !== port) differences.push(`port differs (${portText(origin.port)} vs ${portText(port)})`);
  return differences;
}

function schemeDifference(originScheme: string, patternScheme: string): string {
  return `scheme differs (${originScheme} vs ${patternScheme})`;
}

function withAlso(why: string, differences: readonly string[]): string {
  return differences.length === 0 ? why : `${why}; also ${differences.join("; ")}`;
}

function portText(port: number | null): string {
  return port === null ? "default" : String(port);
}

function registrableDomain(host: string): string | null {
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  return getDomain(name, { allowPrivateDomains: true });
}

function isExpired(entry: CompiledEntry, now: number): boolean {
  return entry.expiresAt !== null && !(now < entry.expiresAt);
}

function iso(epochMs: number | null): string {
  return epochMs === null ? "never" : new Date(epochMs).toISOString();
}

/**
 * Levenshtein distance restricted to the diagonal band |i - j| <= limit (cells outside it
 * cannot lead to a distance within the limit), so the cost is O(length × limit); returns
 * limit + 1 as soon as the distance must exceed `limit`.
 */
function boundedEditDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  const outside = limit + 1;
  let previous = new Map<number, number>();
  for (let j = 0; j <= Math.min(b.length, limit); j++) previous.set(j, j);
  for (let i = 1; i <= a.length; i++) {
    const current = new Map<number, number>();
    let rowMinimum = outside;
    for (let j = Math.max(0, i - limit); j <= Math.min(b.length, i + limit); j++) {
      const value =
        j === 0
          ? i
          : Math.min(
              (previous.get(j) ?? outside) + 1,
              (current.get(j - 1) ?? outside) + 1,
              (previous.get(j - 1) ?? outside) + (a[i - 1] === b[j - 1] ? 0 : 1),
            );
      current.set(j, value);
      if (value < rowMinimum) rowMinimum = value;
    }
    if (rowMinimum > limit) return outside;
    previous = current;
  }
  return Math.min(previous.get(b.length) ?? outside, outside);
}
