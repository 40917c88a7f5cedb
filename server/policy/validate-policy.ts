/**
 * validatePolicy: the boundary check for a policy document coming in as unknown JSON (API
 * body, dashboard draft, database row). Returns every issue found, each with a path
 * (`origins[3].pattern`, `limits.maxConnections`), a message that says how to fix it, and a
 * severity: `error` blocks saving, `warning` is shown but allowed.
 *
 * Structure comes from the one definition of the document (document.ts): wrong shapes or
 * types, unknown fields (a typo must not silently fall back to a default), out-of-range
 * limits, invalid subprotocol or header tokens, notes too long, `expiresAt` that is not an
 * ISO 8601 date-time with an offset. A field left out takes its (restrictive) default.
 * Semantic errors are checked here: invalid patterns, duplicates after normalisation,
 * `credentials: allow` with `*`, `null` or a wildcard whose subtree holds public suffixes
 * (`https://*.amazonaws.com`; the rule is credential-rules.ts, shared with the gateway),
 * CORS methods and headers browsers forbid (SPEC §4.6, the Fetch standard; jub0bs/cors
 * refuses the same configurations up front).
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
 * Also exports `normalizePolicyDocument`, the stored form: the schema's canonical document
 * with patterns normalised and CORS names in canonical case, user order kept.
 * Browser-safe, pure.
 */
import type { z } from "zod";
import { credentialsRisk } from "./credential-rules";
import {
  MAX_POLICY_ORIGINS,
  POLICY_LIMIT_RANGES,
  type PolicyDocument,
  parsePolicyDocument,
  policyDocumentSchema,
} from "./document";
import { parseExpiry } from "./parse-expiry";
import { type ParsedPattern, parsePattern } from "./parse-pattern";

export interface PolicyIssue {
  path: string;
  message: string;
  severity: "error" | "warning";
}

const LOOPBACK_IPV4 = /^127\.[0-9]+\.[0-9]+\.[0-9]+$/;

/** Methods the Fetch standard forbids in requests (compared case-insensitively). */
const FORBIDDEN_METHODS = new Set(["connect", "trace", "track"]);
/** Fetch's "forbidden request-header" names: a page can never send them, so allowing them is a mistake. */
const FORBIDDEN_REQUEST_HEADERS = new Set([
  "accept-charset",
  "accept-encoding",
  "access-control-request-headers",
  "access-control-request-method",
  "connection",
  "content-length",
  "cookie",
  "cookie2",
  "date",
  "dnt",
  "expect",
  "host",
  "keep-alive",
  "origin",
  "referer",
  "set-cookie",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "via",
]);
/** Response headers a browser never exposes to a page (Fetch: "forbidden response-header name"). */
const FORBIDDEN_RESPONSE_HEADERS = new Set(["set-cookie", "set-cookie2"]);
/** Fetch's "normalize a method": these six are upper-cased by browsers; any other is case-sensitive. */
const NORMALIZED_METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);

interface ValidEntry {
  index: number;
  pattern: ParsedPattern;
  expiresAt: number | null;
}

type Report = (path: string, message: string) => void;

export function validatePolicy(document: unknown, now?: Date): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const error: Report = (path, message) => issues.push({ path, message, severity: "error" });
  const warn: Report = (path, message) => issues.push({ path, message, severity: "warning" });
  const nowMs = now instanceof Date && !Number.isNaN(now.getTime()) ? now.getTime() : null;

  if (!isRecord(document)) {
    error("", "the policy must be a JSON object");
    return issues;
  }
  const body = withoutVersion(document);
  const parsed = policyDocumentSchema.safeParse(body, { reportInput: true });
  if (!parsed.success) for (const issue of parsed.error.issues) reportSchemaIssue(issue, error);

  // Semantic checks read the raw input defensively: a field of the wrong shape has already
  // been reported above, and is skipped here.
  const credentialsAllowed = body.credentials === "allow";
  const tokenRequired = body.token === "required";
  const entries = validateOrigins(body.origins, nowMs, error, warn);
  for (const entry of entries) {
    warnAboutBreadth(entry, credentialsAllowed, tokenRequired, error, warn);
  }
  warnAboutRedundancy(entries, nowMs, warn);
  if (isRecord(body.cors)) validateCors(body.cors, credentialsAllowed, error);

  if (body.missingOrigin === "allow" && !tokenRequired) {
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
  if (body.mode === "report-only") {
    warn(
      "mode",
      "report-only: nothing is enforced; rejections are only logged. Switch to enforce when the log is clean",
    );
  }
  return issues;
}

/**
 * The API returns `version` with the document; it may come back (the API layer checks it
 * against If-Match), so it is not an unknown field.
 */
function withoutVersion(document: Record<string, unknown>): Record<string, unknown> {
  if (!Object.hasOwn(document, "version")) return document;
  const { version: _version, ...rest } = document;
  return rest;
}

/** `origins[3].pattern` from zod's ["origins", 3, "pattern"]. */
function issuePath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const key of path) {
    if (typeof key === "number") text += `[${key}]`;
    else text += text === "" ? String(key) : `.${String(key)}`;
  }
  return text;
}

/** One schema issue in the API's words (what is wrong, what is expected, what was sent). */
function reportSchemaIssue(issue: z.core.$ZodIssue, error: Report): void {
  const path = issuePath(issue.path);
  const got = issue.input === undefined ? "" : ` (got ${JSON.stringify(issue.input)?.slice(0, 80)})`;
  switch (issue.code) {
    case "unrecognized_keys":
      for (const key of issue.keys) {
        const expected = expectedKeys(issue.path);
        error(issuePath([...issue.path, key]), `unknown field "${key}"${expected ? ` (expected ${expected})` : ""}`);
      }
      return;
    case "invalid_value":
      error(path, `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}${got}`);
      return;
    case "invalid_type":
      if (!issue.message.startsWith("Invalid"))
        error(path, `${issue.message}${got}`); // the schema's own words
      else if (issue.expected === "int" || issue.expected === "number") error(path, `must be an integer${got}`);
      else if (issue.expected === "array") error(path, `must be a list${got}`);
      else if (issue.expected === "object") error(path, `must be an object${got}`);
      else error(path, `must be ${issue.expected === "string" ? "a string" : `of type ${issue.expected}`}${got}`);
      return;
    case "too_small":
    case "too_big": {
      const bound = issue.code === "too_small" ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
      const range = rangeAt(issue.path);
      if (issue.origin === "array") {
        error(path, `too many entries (${(issue.input as unknown[] | undefined)?.length ?? "?"}); ${bound}`);
      } else if (issue.origin === "string" && !issue.message.startsWith("Too")) {
        error(path, issue.message); // the schema's own words
      } else if (issue.origin === "string" && issue.code === "too_big") {
        error(path, `is ${String(issue.input ?? "").length} characters long; ${bound}`);
      } else if (issue.origin === "string") {
        error(path, issue.message);
      } else {
        error(path, `must be ${range ? `from ${range.min} to ${range.max}` : bound}${got}`);
      }
      return;
    }
    default:
      // Custom and format messages are written for users already ("is not a valid ...").
      error(
        path,
        issue.message.startsWith("is ") && typeof issue.input === "string"
          ? `"${issue.input}" ${issue.message}`
          : issue.message,
      );
  }
}

function rangeAt(path: readonly PropertyKey[]): { min: number; max: number } | undefined {
  if (path.length !== 2 || path[0] !== "limits") return undefined;
  return (POLICY_LIMIT_RANGES as Record<string, { min: number; max: number }>)[String(path[1])];
}

/** The field names the schema allows at a path (for "unknown field" messages). */
function expectedKeys(path: readonly PropertyKey[]): string | null {
  const reference = parsePolicyDocument({ origins: [{ pattern: "x" }] });
  let node: unknown = reference;
  for (const key of path) {
    if (typeof key === "number") node = Array.isArray(node) ? node[0] : undefined;
    else node = isRecord(node) ? node[key as string] : undefined;
  }
  return isRecord(node) ? Object.keys(node).join(", ") : null;
}

/** Patterns, duplicates after normalisation and expired entries (shapes are the schema's job). */
function validateOrigins(origins: unknown, nowMs: number | null, error: Report, warn: Report): ValidEntry[] {
  if (!Array.isArray(origins) || origins.length > MAX_POLICY_ORIGINS) return [];
  const valid: ValidEntry[] = [];
  const firstIndexByPattern = new Map<string, number>();
  origins.forEach((entry: unknown, index) => {
    if (!isRecord(entry) || typeof entry.pattern !== "string") return;
    const path = `origins[${index}]`;
    let expiry: number | null = null;
    if (entry.expiresAt !== undefined && entry.expiresAt !== null) {
      expiry = parseExpiry(entry.expiresAt);
      if (expiry === null) return; // reported by the schema
      if (nowMs !== null && expiry <= nowMs) {
        warn(
          `${path}.expiresAt`,
          `expired at ${new Date(expiry).toISOString()}: it no longer allows anything; remove or extend it`,
        );
      }
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
    valid.push({ index, pattern: parsed.value, expiresAt: expiry });
  });
  return valid;
}

/**
 * CORS rules browsers would reject or that are unsafe (SPEC §4.6): forbidden methods and
 * request headers, `*` wildcards with credentials (browsers ignore them then, and a
 * configuration that only works without cookies should say so).
 */
function validateCors(cors: Record<string, unknown>, credentialsAllowed: boolean, error: Report): void {
  const names = (key: string): Array<{ name: string; path: string }> =>
    Array.isArray(cors[key])
      ? (cors[key] as unknown[]).flatMap((name, index) =>
          typeof name === "string" ? [{ name, path: `cors.${key}[${index}]` }] : [],
        )
      : [];
  const wildcard = (path: string, what: string) => {
    if (credentialsAllowed) {
      error(
        path,
        `"*" in ${what} is ignored by browsers when credentials are allowed (Fetch): list the names, or set credentials: forbid`,
      );
    }
  };
  for (const { name, path } of names("methods")) {
    if (FORBIDDEN_METHODS.has(name.toLowerCase())) {
      error(path, `${name} is a forbidden method: browsers never send it, so it cannot be allowed`);
    } else if (name === "*") wildcard(path, "methods");
  }
  for (const { name, path } of names("allowHeaders")) {
    const lower = name.toLowerCase();
    if (FORBIDDEN_REQUEST_HEADERS.has(lower) || lower.startsWith("proxy-") || lower.startsWith("sec-")) {
      error(path, `${name} is a forbidden request header: pages cannot set it, so it cannot be allowed`);
    } else if (name === "*") wildcard(path, "allowHeaders");
  }
  for (const { name, path } of names("exposeHeaders")) {
    if (FORBIDDEN_RESPONSE_HEADERS.has(name.toLowerCase())) {
      error(path, `${name} is never exposed to pages by browsers`);
    } else if (name === "*") wildcard(path, "exposeHeaders");
  }
}

function warnAboutBreadth(
  entry: ValidEntry,
  credentialsAllowed: boolean,
  tokenRequired: boolean,
  error: Report,
  warn: Report,
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
function warnAboutRedundancy(entries: readonly ValidEntry[], nowMs: number | null, warn: Report): void {
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
      // Named by its pattern: an index means nothing to a reader, and changes as entries move.
      `already covered by ${coverer.pattern.pattern}; this entry changes nothing`,
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

function isLoopbackHost(host: string): boolean {
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  return name === "localhost" || name.endsWith(".localhost") || name === "[::1]" || LOOPBACK_IPV4.test(name);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The stored form of a document that validatePolicy accepted: the schema's canonical
 * document (defaults filled in, notes and expiries canonical) with patterns normalised,
 * header names in lower case and the six standard methods in upper case (as browsers send
 * them); user order kept. Throws on a document that does not fit the schema.
 */
export function normalizePolicyDocument(document: unknown): PolicyDocument {
  const doc = parsePolicyDocument(isRecord(document) ? withoutVersion(document) : document);
  return {
    ...doc,
    origins: doc.origins.map((entry) => {
      const parsed = parsePattern(entry.pattern);
      return { ...entry, pattern: parsed.ok ? parsed.value.pattern : entry.pattern };
    }),
    cors: {
      ...doc.cors,
      methods: doc.cors.methods.map((m) => (NORMALIZED_METHODS.has(m.toUpperCase()) ? m.toUpperCase() : m)),
      allowHeaders: doc.cors.allowHeaders.map((h) => h.toLowerCase()),
      exposeHeaders: doc.cors.exposeHeaders.map((h) => h.toLowerCase()),
    },
  };
}
