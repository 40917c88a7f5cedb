/**
 * compilePolicy: turns a policy document into the structure the gateway consults on every
 * handshake. Called once per policy version (and again at `nextExpiryAt`); the result is
 * immutable and shared by all handshakes of the tenant.
 *
 * Matching cost does not depend on the number of patterns (SPEC §4.2): a handshake costs
 * a few hash lookups —
 * - exact origins: `Map<canonical origin, entry>`;
 * - any-port: `Map<"scheme|host", entry>`;
 * - wildcards: `Map<"scheme|port|suffix", entry>`, probed with each *strict* superdomain of
 *   the origin's host (a.b.example.com → b.example.com → example.com → com), never the host
 *   itself, so `*.example.com` can never match `example.com`, and because keys are whole
 *   label suffixes it can never match `evilexample.com` or `example.com.evil.net`;
 * - `*` and `null`: one slot each.
 * The most specific live entry wins: exact, then any-port, then the deepest wildcard, then
 * `*`; `matchedPattern` therefore names the entry that actually justified the decision.
 *
 * Fail closed: the document is assumed validated, but nothing here throws on a bad entry —
 * an entry whose pattern or expiry does not parse is skipped (listed in `skipped`), and an
 * unknown setting value falls to the restrictive side (unknown mode → enforce, unknown
 * credentials → forbid, unknown token → required, unknown missingOrigin → reject).
 *
 * Credentials: with `credentials: allow`, an entry that must never admit credentials (`*`,
 * `null`, a wildcard over public suffixes: credential-rules.ts) is listed in
 * `credentialsWithheld`, and decideHandshake refuses a Cookie/Authorization-bearing
 * handshake it admits (credentials_forbidden), as `forbid` would. validatePolicy refuses to
 * save such a policy; this is the gateway's fail-closed answer when one arrives anyway.
 *
 * Expiry: entries with `expiresAt <= now` are left out (and so is a previous token secret
 * whose rotation overlap has ended); `nextExpiryAt` says when to recompile. Because a
 * gateway may recompile late, `match(origin, now)` also re-checks each
 * candidate's expiry against the handshake's own time, so access lapses to the
 * millisecond regardless. A non-finite `now` counts every expiring entry as expired.
 *
 * Browser-safe, pure (time comes in as a parameter).
 */

import { type CompiledCors, compileCors } from "./compile-cors";
import { credentialsRisk } from "./credential-rules";
import type { CompilableDocument } from "./document";
import { parseExpiry } from "./parse-expiry";
import type { ParsedOrigin } from "./parse-origin";
import { type ParsedPattern, parsePattern } from "./parse-pattern";

export interface CompileOptions {
  version: number;
  /** Tenant slug; also the audience every handshake token must name. */
  tenant: string;
  tokenSecret?: string | null;
  /**
   * The secret a rotation replaced, valid until `previousTokenSecretUntil` (epoch ms; the
   * rotation's overlap window). Ignored without an end, and once it has passed.
   */
  previousTokenSecret?: string | null;
  previousTokenSecretUntil?: number | null;
}

/** One well-formed allowlist entry, expired or not (explanations look at all of them). */
export interface CompiledEntry {
  index: number;
  pattern: ParsedPattern;
  /** Epoch ms at which it stops matching; null = never. */
  expiresAt: number | null;
  note: string | null;
}

/** An entry compilation had to leave out because it does not parse: it allows nothing. */
export interface SkippedEntry {
  index: number;
  pattern: string;
  message: string;
}

/** The document's switches, resolved fail-closed. */
export interface CompiledSettings {
  enforce: boolean;
  forbidCredentials: boolean;
  requireToken: boolean;
  allowMissingOrigin: boolean;
  /** True when the document lists subprotocols: the client must then offer one of them. */
  requireSubprotocol: boolean;
  /** Allowed subprotocols in policy order; never contains a bearer.* name. */
  subprotocols: readonly string[];
  subprotocolSet: ReadonlySet<string>;
  /** The `cors` section for HTTP and SSE (compile-cors.ts). */
  cors: CompiledCors;
}

export interface CompiledPolicy {
  version: number;
  tenant: string;
  document: CompilableDocument;
  /** Epoch ms of the earliest future expiry (recompile then), or null. */
  nextExpiryAt: number | null;
  compiledAt: number;
  /** The most specific live pattern matching this origin, or null. `now` re-checks expiries. */
  match(origin: ParsedOrigin & { kind: "origin" }, now?: number): string | null;
  /** "null" when the opaque origin is allowed (a live `null` entry), else null. */
  matchNull(now?: number): string | null;
  settings: CompiledSettings;
  /**
   * Normalised patterns that never admit credentials even though the document says
   * `credentials: allow`, each with the reason (empty unless credentials are allowed).
   */
  credentialsWithheld: ReadonlyMap<string, string>;
  /** Secret that signs handshake tokens; null when the tenant has none (tokens then fail). */
  tokenSecret: string | null;
  /**
   * The previous secret while a rotation's overlap lasts (tokens signed with it still
   * verify until `previousTokenSecretUntil`), else null. Its end is part of `nextExpiryAt`,
   * so the gateway recompiles — and re-evaluates open connections — when the overlap ends.
   */
  previousTokenSecret: string | null;
  previousTokenSecretUntil: number | null;
  entries: readonly CompiledEntry[];
  skipped: readonly SkippedEntry[];
}

interface MatchTarget {
  pattern: string;
  expiresAt: number | null;
}

export function compilePolicy(document: CompilableDocument, now: number, options: CompileOptions): CompiledPolicy {
  const exact = new Map<string, MatchTarget>();
  // Keyed scheme → host, and scheme → port → suffix: the same keys as "scheme|host" and
  // "scheme|port|suffix", nested so a lookup never has to build a key string.
  const anyPort = new Map<string, Map<string, MatchTarget>>();
  const wildcard = new Map<string, Map<number | null, Map<string, MatchTarget>>>();
  let anyOrigin: MatchTarget | null = null;
  let nullOrigin: MatchTarget | null = null;
  const entries: CompiledEntry[] = [];
  const skipped: SkippedEntry[] = [];
  const credentialsWithheld = new Map<string, string>();
  const credentialsAllowed = document?.credentials === "allow";
  let nextExpiryAt: number | null = null;

  const origins: readonly unknown[] = Array.isArray(document?.origins) ? document.origins : [];
  for (let index = 0; index < origins.length; index++) {
    const raw = origins[index];
    const entry = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    const patternText = typeof entry.pattern === "string" ? entry.pattern : "";
    try {
      const parsed = parsePattern(patternText);
      if (!parsed.ok) {
        skipped.push({ index, pattern: patternText, message: parsed.message });
        continue;
      }
      let expiresAt: number | null = null;
      if (entry.expiresAt !== undefined && entry.expiresAt !== null) {
        expiresAt = parseExpiry(entry.expiresAt);
        if (expiresAt === null) {
          skipped.push({
            index,
            pattern: patternText,
            message: "expiresAt is not an ISO 8601 date-time with a time zone",
          });
          continue;
        }
      }
      const note = typeof entry.note === "string" ? entry.note : null;
      entries.push({ index, pattern: parsed.value, expiresAt, note });
      const risk = credentialsAllowed ? credentialsRisk(parsed.value) : null;
      if (risk !== null) credentialsWithheld.set(parsed.value.pattern, risk);
      // Written as !(now < expiresAt) so that a NaN `now` leaves the entry out (fail closed).
      if (expiresAt !== null && !(now < expiresAt)) continue;
      if (expiresAt !== null && (nextExpiryAt === null || expiresAt < nextExpiryAt)) nextExpiryAt = expiresAt;

      const target: MatchTarget = { pattern: parsed.value.pattern, expiresAt };
      const value = parsed.value;
      switch (value.kind) {
        case "exact":
          keepLongestLived(exact, value.origin, target);
          break;
        case "any-port":
          keepLongestLived(submap(anyPort, value.scheme), value.host, target);
          break;
        case "wildcard":
          keepLongestLived(submap(submap(wildcard, value.scheme), value.port), value.suffix, target);
          break;
        case "any":
          anyOrigin = longestLived(anyOrigin, target);
          break;
        case "null":
          nullOrigin = longestLived(nullOrigin, target);
          break;
      }
    } catch {
      skipped.push({ index, pattern: patternText, message: "could not be compiled" });
    }
  }

  const settings = resolveSettings(document);
  const anyOriginTarget = anyOrigin;
  const nullOriginTarget = nullOrigin;

  function match(origin: ParsedOrigin & { kind: "origin" }, at?: number): string | null {
    const byOrigin = exact.get(origin.origin);
    if (byOrigin && isLive(byOrigin, at)) return byOrigin.pattern;
    const byHost = anyPort.get(origin.scheme)?.get(origin.host);
    if (byHost && isLive(byHost, at)) return byHost.pattern;
    const bySuffix = wildcard.get(origin.scheme)?.get(origin.port);
    if (bySuffix) {
      const host = origin.host;
      // Strict superdomains only, longest (most specific) first. A trailing-dot host ends
      // with an empty suffix, which is never a key.
      for (let dot = host.indexOf("."); dot >= 0 && dot < host.length - 1; dot = host.indexOf(".", dot + 1)) {
        const target = bySuffix.get(host.slice(dot + 1));
        if (target && isLive(target, at)) return target.pattern;
      }
    }
    if (anyOriginTarget && isLive(anyOriginTarget, at)) return anyOriginTarget.pattern;
    return null;
  }

  function matchNull(at?: number): string | null {
    return nullOriginTarget && isLive(nullOriginTarget, at) ? nullOriginTarget.pattern : null;
  }

  const secret = options?.tokenSecret;
  const previous = options?.previousTokenSecret;
  const previousUntil = options?.previousTokenSecretUntil;
  // Same fail-closed comparison as entries: a NaN `now` or end leaves the previous secret out.
  const previousLive =
    typeof previous === "string" &&
    previous !== "" &&
    typeof previousUntil === "number" &&
    Number.isFinite(previousUntil) &&
    now < previousUntil;
  if (previousLive && (nextExpiryAt === null || previousUntil < nextExpiryAt)) nextExpiryAt = previousUntil;
  return {
    version: options?.version,
    tenant: options?.tenant,
    document,
    nextExpiryAt,
    compiledAt: now,
    match,
    matchNull,
    settings,
    credentialsWithheld,
    tokenSecret: typeof secret === "string" && secret !== "" ? secret : null,
    previousTokenSecret: previousLive ? previous : null,
    previousTokenSecretUntil: previousLive ? previousUntil : null,
    entries,
    skipped,
  };
}

/** Without a time the compile-time filter stands; with one, the entry must not have expired. */
function isLive(target: MatchTarget, at: number | undefined): boolean {
  return target.expiresAt === null || at === undefined || at < target.expiresAt;
}

/** Duplicates (possible in an unvalidated document): the longest-lived one covers the other. */
function longestLived(current: MatchTarget | null, candidate: MatchTarget): MatchTarget {
  if (current === null || current.expiresAt === null) return current ?? candidate;
  if (candidate.expiresAt === null || candidate.expiresAt > current.expiresAt) return candidate;
  return current;
}

/** The inner map under `key`, created on first use. */
function submap<K, K2, V>(map: Map<K, Map<K2, V>>, key: K): Map<K2, V> {
  let inner = map.get(key);
  if (!inner) {
    inner = new Map();
    map.set(key, inner);
  }
  return inner;
}

function keepLongestLived(map: Map<string, MatchTarget>, key: string, target: MatchTarget): void {
  map.set(key, longestLived(map.get(key) ?? null, target));
}

function resolveSettings(document: CompilableDocument): CompiledSettings {
  const listed: unknown[] = Array.isArray(document?.subprotocols) ? document.subprotocols : [];
  const subprotocols = listed.filter(
    (name): name is string => typeof name === "string" && name !== "" && !name.toLowerCase().startsWith("bearer."),
  );
  const forbidCredentials = document?.credentials !== "allow";
  return {
    enforce: document?.mode !== "report-only",
    forbidCredentials,
    requireToken: document?.token !== "off",
    allowMissingOrigin: document?.missingOrigin === "allow",
    // Decided on the listed names before filtering: a list of only unusable names must
    // still demand a subprotocol (and so refuse everyone) rather than drop the requirement.
    requireSubprotocol: listed.length > 0,
    subprotocols,
    subprotocolSet: new Set(subprotocols),
    cors: compileCors(document, forbidCredentials),
  };
}
