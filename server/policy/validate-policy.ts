/**
 * validatePolicy: the boundary check for a policy document coming in as unknown JSON (API
 * body, dashboard draft, database row). Returns every issue found, each with a path
 * (`origins[3].pattern`, `limits.maxConnections`), a message that says how to fix it, and a
 * severity: `error` blocks saving, `warning` is shown but allowed.
 *
 * Errors: wrong shape or types, unknown fields (a typo must not silently fall back to a
 * default), out-of-range limits, invalid patterns, duplicates after normalisation,
 * `credentials: allow` with `*`, `null` or a wildcard whose subtree holds public suffixes
 * (`https://*.amazonaws.com`; the rule is credential-rules.ts, shared with the gateway),
 * invalid subprotocol tokens (RFC 6455 / RFC 7230 `token`), a
 * subprotocol starting with `bearer.` (reserved for tokens), notes too long, `expiresAt`
 * that is not an ISO 8601 date-time with an offset.
 *
 * Warnings (judgment, documented here):
 * - `*`: every website may connect; acceptable only for public data or with a token.
 * - `null`: any page can produce the null origin with `<iframe sandbox>` (PortSwigger,
 *   "Exploiting CORS misconfigurations"), so it is as broad as `*` unless a token is required.
 * - broad wildcards: wildcards on a public suffix (`*.com`, `*.github.io`) are already
 *   *errors*; a wildcard on a registrable domain (`*.example.com`) is the normal "all our
 *   subdomains" entry and is not flagged. Nothing is broader that is still legal.
 * - plain `http://`/`ws://` origins other than loopback (localhost, *.localhost, 127/8,
 *   [::1]): a network attacker can inject script into such a page.
 * - any-port entries on non-loopback hosts (meant for local development).
 * - an entry already covered by another (wildcard, any-port, `*`) that lives at least as
 *   long, so removing it changes nothing.
 * - `missingOrigin: allow` without `token: required`; `credentials: allow` without a token
 *   (the allowlist is then the only CSWSH defence); `mode: report-only` (nothing enforced).
 * - entries already expired (only when `now` is given; this module never reads the clock).
 *
 * Also exports `normalizePolicyDocument`, the stored form: patterns normalised, expiries in
 * `toISOString()` form, unknown fields dropped, user order kept. Browser-safe, pure.
 */
import { credentialsRisk } from "./credential-rules";
import { parseExpiry } from "./parse-expiry";
import { type ParsedPattern, parsePattern } from "./parse-pattern";
import type { PolicyDocument, PolicyOriginEntry } from "./types";

export interface PolicyIssue {
  path: string;
  message: string;
  severity: "error" | "warning";
}

export const POLICY_LIMIT_RANGES = {
  // ws's own default maxPayload is 100 MiB; nothing sane needs more per message.
  maxMessageBytes: { min: 1, max: 104_857_600 },
  // One day; idle connections longer than that should reconnect.
  idleTimeoutSeconds: { min: 1, max: 86_400 },
  maxConnections: { min: 1, max: 1_000_000 },
  handshakesPerMinutePerIp: { min: 1, max: 1_000_000 },
} as const;

export const MAX_POLICY_ORIGINS = 100_000;
export const MAX_NOTE_LENGTH = 500;
export const MAX_SUBPROTOCOLS = 64;
export const MAX_SUBPROTOCOL_LENGTH = 128;

const DOCUMENT_FIELDS = ["mode", "origins", "credentials", "token", "missingOrigin", "subprotocols", "limits"] as const;
// The API returns `version` with the document; tolerate it coming back (the API layer
// checks it against If-Match), but nothing else unknown.
const TOLERATED_FIELDS = new Set<string>([...DOCUMENT_FIELDS, "version"]);
const ENTRY_FIELDS = new Set(["pattern", "note", "expiresAt"]);
/** RFC 7230 tchar: what RFC 6455 allows in a Sec-WebSocket-Protocol value. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const LOOPBACK_IPV4 = /^127\.[0-9]+\.[0-9]+\.[0-9]+$/;

type Enumerated = { path: "mode" | "credentials" | "token" | "missingOrigin"; values: readonly string[] };
const ENUMERATED: readonly Enumerated[] = [
  { path: "mode", values: ["enforce", "report-only"] },
  { path: "credentials", values: ["forbid", "allow"] },
  { path: "token", values: ["off", "required"] },
  { path: "missingOrigin", values: ["reject", "allow"] },
];

interface ValidEntry {
  index: number;
  pattern: ParsedPattern;
  expiresAt: number | null;
}

export function validatePolicy(document: unknown, now?: Date): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const error = (path: string, message: string) => issues.push({ path, message, severity: "error" });
  const warn = (path: string, message: string) => issues.push({ path, message, severity: "warning" });
  const nowMs = now instanceof Date && !Number.isNaN(now.getTime()) ? now.getTime() : null;

  if (!isRecord(document)) {
    error("", "the policy must be a JSON object");
    return issues;
  }
  for (const key of Object.keys(document)) {
    if (!TOLERATED_FIELDS.has(key)) error(key, `unknown field "${key}" (expected ${DOCUMENT_FIELDS.join(", ")})`);
  }
  for (const { path, values } of ENUMERATED) {
    const value = document[path];
    if (value === undefined) error(path, `required: one of ${values.map((v) => `"${v}"`).join(", ")}`);
    else if (typeof value !== "string" || !values.includes(value)) {
      error(path, `must be one of ${values.map((v) => `"${v}"`).join(", ")} (got ${JSON.stringify(value)})`);
    }
  }
  const credentialsAllowed = document.credentials === "allow";
  const tokenRequired = document.token === "required";

  const entries = validateOrigins(document.origins, nowMs, error, warn);
  for (const entry of entries) {
    warnAboutBreadth(entry, credentialsAllowed, tokenRequired, error, warn);
  }
  warnAboutRedundancy(entries, nowMs, warn);

  validateSubprotocols(document.subprotocols, error);
  validateLimits(document.limits, error);

  if (document.missingOrigin === "allow" && !tokenRequired) {
    warn(
      "missingOrigin",
      "clients without an Origin header are let in without any proof of identity; set token: required so non-browser clients must present a token",
    );
  }
  if (credentialsAllowed && !tokenRequired) {
    warn(
      "credentials",
      "cookies and Authorization headers are accepted and no token is required: the origin allowlist is the only protection against cross-site WebSocket hijacking, so keep it tight",
    );
  }
  if (document.mode === "report-only") {
    warn(
      "mode",
      "report-only: nothing is enforced; rejections are only logged. Switch to enforce when the log is clean",
    );
  }
  return issues;
}

function validateOrigins(
  origins: unknown,
  nowMs: number | null,
  error: (path: string, message: string) => void,
  warn: (path: string, message: string) => void,
): ValidEntry[] {
  if (origins === undefined) {
    error("origins", "required: a list of { pattern, note?, expiresAt? } (may be empty)");
    return [];
  }
  if (!Array.isArray(origins)) {
    error("origins", "must be a list of { pattern, note?, expiresAt? }");
    return [];
  }
  if (origins.length > MAX_POLICY_ORIGINS) {
    error("origins", `too many entries (${origins.length}); at most ${MAX_POLICY_ORIGINS}`);
    return [];
  }
  const valid: ValidEntry[] = [];
  const firstIndexByPattern = new Map<string, number>();
  origins.forEach((entry: unknown, index) => {
    const path = `origins[${index}]`;
    if (!isRecord(entry)) {
      error(path, "must be an object { pattern, note?, expiresAt? }");
      return;
    }
    for (const key of Object.keys(entry)) {
      if (!ENTRY_FIELDS.has(key)) error(`${path}.${key}`, `unknown field "${key}" (expected pattern, note, expiresAt)`);
    }
    const { note, expiresAt } = entry;
    if (note !== undefined && note !== null) {
      if (typeof note !== "string") error(`${path}.note`, "must be a string or null");
      else if (note.length > MAX_NOTE_LENGTH) {
        error(`${path}.note`, `is ${note.length} characters long; at most ${MAX_NOTE_LENGTH}`);
      }
    }
    let expiry: number | null = null;
    let expiryValid = true;
    if (expiresAt !== undefined && expiresAt !== null) {
      expiry = parseExpiry(expiresAt);
      if (expiry === null) {
        expiryValid = false;
        error(
          `${path}.expiresAt`,
          `must be an ISO 8601 date-time with a time zone, e.g. 2030-01-31T18:00:00Z (got ${JSON.stringify(expiresAt)})`,
        );
      } else if (nowMs !== null && expiry <= nowMs) {
        warn(
          `${path}.expiresAt`,
          `expired at ${new Date(expiry).toISOString()}: it no longer allows anything; remove or extend it`,
        );
      }
    }
    if (typeof entry.pattern !== "string") {
      error(`${path}.pattern`, "required: a string such as https://app.example.com");
      return;
    }
    const parsed = parsePattern(entry.pattern);
    if (!parsed.ok) {
      error(`${path}.pattern`, parsed.message);
      return;
    }
    const normalized = parsed.value.pattern;
    const first = firstIndexByPattern.get(normalized);
    if (first !== undefined) {
      const after = parsed.normalizedFrom === undefined ? "" : " after normalisation";
      error(`${path}.pattern`, `duplicate of origins[${first}] (both are ${normalized}${after}): remove one of them`);
      return;
    }
    firstIndexByPattern.set(normalized, index);
    if (expiryValid) valid.push({ index, pattern: parsed.value, expiresAt: expiry });
  });
  return valid;
}

function warnAboutBreadth(
  entry: ValidEntry,
  credentialsAllowed: boolean,
  tokenRequired: boolean,
  error: (path: string, message: string) => void,
  warn: (path: string, message: string) => void,
): void {
  const path = `origins[${entry.index}].pattern`;
  const pattern = entry.pattern;
  const risk = credentialsAllowed ? credentialsRisk(pattern) : null;
  if (risk !== null) {
    error(path, risk);
    return;
  }
  switch (pattern.kind) {
    case "any":
      if (!tokenRequired) {
        warn(path, '"*" lets every website connect; keep it only for public data, or set token: required');
      } else {
        warn(path, '"*" lets every website attempt a connection; only the token protects this socket');
      }
      return;
    case "null":
      if (!tokenRequired) {
        warn(
          path,
          `"null" is the origin of sandboxed iframes, file:// pages and some redirects: any website can produce it with <iframe sandbox>, so it is almost as broad as "*"; set token: required or remove it`,
        );
      }
      return;
    case "exact":
    case "wildcard":
    case "any-port": {
      const host = pattern.kind === "wildcard" ? pattern.suffix : pattern.host;
      const local = isLoopbackHost(host);
      if ((pattern.scheme === "http" || pattern.scheme === "ws") && !local) {
        warn(
          path,
          `plain ${pattern.scheme}:// origin: anyone on the network path can inject script into that page and open this socket as it; use https:// unless it is local development`,
        );
      }
      if (pattern.kind === "any-port" && !local) {
        warn(
          path,
          `any port on ${pattern.host}: every service on that host counts as this origin; list the ports you use`,
        );
      }
      return;
    }
  }
}

/**
 * Same hash-map approach as the compiled matcher (entries × labels, never entries²), so a
 * 100k-entry list validates quickly. A coverer only makes an entry redundant if it lives at
 * least as long (no expiry, or expires no earlier) and has not already expired.
 */
function warnAboutRedundancy(
  entries: readonly ValidEntry[],
  nowMs: number | null,
  warn: (path: string, message: string) => void,
): void {
  const live = (entry: ValidEntry) => entry.expiresAt === null || nowMs === null || nowMs < entry.expiresAt;
  const wildcards = new Map<string, ValidEntry>();
  const anyPorts = new Map<string, ValidEntry>();
  let anyOrigin: ValidEntry | undefined;
  for (const entry of entries) {
    if (!live(entry)) continue;
    const pattern = entry.pattern;
    if (pattern.kind === "wildcard") wildcards.set(`${pattern.scheme}|${pattern.port}|${pattern.suffix}`, entry);
    else if (pattern.kind === "any-port") anyPorts.set(`${pattern.scheme}|${pattern.host}`, entry);
    else if (pattern.kind === "any") anyOrigin = entry;
  }
  const outlives = (coverer: ValidEntry, covered: ValidEntry) =>
    coverer.expiresAt === null || (covered.expiresAt !== null && covered.expiresAt <= coverer.expiresAt);
  const report = (covered: ValidEntry, coverer: ValidEntry) =>
    warn(
      `origins[${covered.index}].pattern`,
      `already covered by origins[${coverer.index}] (${coverer.pattern.pattern}); this entry changes nothing`,
    );

  for (const entry of entries) {
    // An expired entry already has its own warning; whether it is also covered is moot.
    if (!live(entry)) continue;
    const pattern = entry.pattern;
    let coverer: ValidEntry | undefined;
    if (pattern.kind === "exact" || pattern.kind === "wildcard") {
      const host = pattern.kind === "exact" ? pattern.host : pattern.suffix;
      const anyPort = pattern.kind === "exact" ? anyPorts.get(`${pattern.scheme}|${host}`) : undefined;
      if (anyPort && outlives(anyPort, entry)) coverer = anyPort;
      for (let dot = host.indexOf("."); !coverer && dot >= 0; dot = host.indexOf(".", dot + 1)) {
        const wildcard = wildcards.get(`${pattern.scheme}|${pattern.port}|${host.slice(dot + 1)}`);
        if (wildcard && wildcard !== entry && outlives(wildcard, entry)) coverer = wildcard;
      }
    }
    if (!coverer && anyOrigin && pattern.kind !== "any" && pattern.kind !== "null" && outlives(anyOrigin, entry)) {
      coverer = anyOrigin;
    }
    if (coverer) report(entry, coverer);
  }
}

function validateSubprotocols(subprotocols: unknown, error: (path: string, message: string) => void): void {
  if (subprotocols === undefined) {
    error("subprotocols", "required: a list of subprotocol names (may be empty)");
    return;
  }
  if (!Array.isArray(subprotocols)) {
    error("subprotocols", "must be a list of subprotocol names");
    return;
  }
  if (subprotocols.length > MAX_SUBPROTOCOLS) error("subprotocols", `at most ${MAX_SUBPROTOCOLS} subprotocols`);
  const seen = new Set<string>();
  subprotocols.forEach((name: unknown, index) => {
    const path = `subprotocols[${index}]`;
    if (typeof name !== "string" || name === "") error(path, "must be a non-empty string");
    else if (name.length > MAX_SUBPROTOCOL_LENGTH) error(path, `longer than ${MAX_SUBPROTOCOL_LENGTH} characters`);
    else if (!TOKEN.test(name)) {
      error(
        path,
        `"${name}" is not a valid subprotocol name: letters, digits and !#$%&'*+-.^_\`|~ only (no spaces, commas, slashes)`,
      );
    } else if (name.toLowerCase().startsWith("bearer.")) {
      error(path, '"bearer." is reserved: clients send their token as a bearer.<jwt> subprotocol');
    } else if (seen.has(name)) error(path, `"${name}" is listed twice`);
    else seen.add(name);
  });
}

function validateLimits(limits: unknown, error: (path: string, message: string) => void): void {
  if (!isRecord(limits)) {
    error("limits", `required: an object with ${Object.keys(POLICY_LIMIT_RANGES).join(", ")}`);
    return;
  }
  for (const key of Object.keys(limits)) {
    if (!(key in POLICY_LIMIT_RANGES)) error(`limits.${key}`, `unknown limit "${key}"`);
  }
  for (const [key, range] of Object.entries(POLICY_LIMIT_RANGES)) {
    const value = limits[key];
    const path = `limits.${key}`;
    if (value === undefined) error(path, `required: an integer from ${range.min} to ${range.max}`);
    else if (typeof value !== "number" || !Number.isInteger(value))
      error(path, `must be an integer (got ${JSON.stringify(value)})`);
    else if (value < range.min || value > range.max)
      error(path, `must be from ${range.min} to ${range.max} (got ${value})`);
  }
}

function isLoopbackHost(host: string): boolean {
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  return name === "localhost" || name.endsWith(".localhost") || name === "[::1]" || LOOPBACK_IPV4.test(name);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function normalizePolicyDocument(doc: PolicyDocument): PolicyDocument {
  return {
    mode: doc.mode,
    origins: doc.origins.map((entry) => {
      const parsed = parsePattern(entry.pattern);
      const normalized: PolicyOriginEntry = { pattern: parsed.ok ? parsed.value.pattern : entry.pattern };
      if (entry.note !== undefined) normalized.note = entry.note;
      if (entry.expiresAt !== undefined) {
        const expiry = parseExpiry(entry.expiresAt);
        normalized.expiresAt = expiry === null ? entry.expiresAt : new Date(expiry).toISOString();
      }
      return normalized;
    }),
    credentials: doc.credentials,
    token: doc.token,
    missingOrigin: doc.missingOrigin,
    subprotocols: [...doc.subprotocols],
    limits: {
      maxMessageBytes: doc.limits.maxMessageBytes,
      idleTimeoutSeconds: doc.limits.idleTimeoutSeconds,
      maxConnections: doc.limits.maxConnections,
      handshakesPerMinutePerIp: doc.limits.handshakesPerMinutePerIp,
    },
  };
}
