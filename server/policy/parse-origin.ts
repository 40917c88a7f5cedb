/**
 * parseOrigin: turns the value of a handshake's `Origin` header into one of four cases
 * (SPEC §4.1): a well-formed origin in canonical form, the missing header, the opaque
 * `null` origin, or a malformed value with a message saying what is wrong.
 *
 * Invariants (the matcher relies on them):
 * - A `kind: "origin"` result is exactly `scheme://host[:port]`: scheme lower-case; host
 *   lower-case ASCII as `parseHost` accepts it (a domain of `[a-z0-9_-]` labels with at
 *   most one trailing dot, kept: `example.com.` is a different host; dotted-decimal IPv4;
 *   compressed IPv6 in brackets); port `null` when absent or equal to the scheme's
 *   default (80/443 for http/ws and https/wss).
 * - `parseOrigin(x.origin)` returns `x` again (canonical form is a fixed point).
 * - The value must be an origin as a browser serializes it (Fetch `serialized-origin`).
 *   Letter case and a default port are the only differences forgiven; anything a URL
 *   parser would otherwise rewrite or strip — a path, query, fragment, userinfo,
 *   percent-encoding, backslash, whitespace, control or invisible characters, several
 *   values, a non-ASCII (un-punycoded) host, an IPv4 address in a numeric/short/hex/octal
 *   form or with a trailing dot, an uncompressed IPv6 address, invalid punycode — is
 *   malformed rather than "repaired", so no two parsers can disagree about which host a
 *   value names, and the audit trail keeps what the client really sent.
 * - Runtime-independent: no WHATWG URL parser and no Unicode tables are consulted (their
 *   answers differ between Node.js versions, issue 20); every rule is in parse-host.ts and
 *   punycode.ts. tests/unit/policy-origin-corpus.test.ts pins the verdicts.
 *
 * Browser-safe and pure. Allocation-light: it runs on every handshake.
 */
import { parseHost } from "./parse-host";

export type ParsedOrigin =
  | { kind: "origin"; origin: string; scheme: string; host: string; port: number | null }
  | { kind: "missing" }
  | { kind: "null" }
  | { kind: "malformed"; message: string };

/** Longer than any origin a browser can produce (hosts are ≤ 253 characters). */
const MAX_ORIGIN_LENGTH = 2048;

/** WHATWG "special" schemes and their default ports; other schemes have none. */
const DEFAULT_PORTS: ReadonlyMap<string, number> = new Map([
  ["http", 80],
  ["https", 443],
  ["ws", 80],
  ["wss", 443],
  ["ftp", 21],
]);

/** RFC 3986 scheme, then "://", then the authority candidate. */
const SCHEME_AND_REST = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s;
/** Control (Cc), invisible format (Cf: soft hyphen, zero-width, bidi marks, BOM) and any space (Z, \s). */
const WHITESPACE_OR_CONTROL = /[\p{Cc}\p{Cf}\p{Z}\s]/u;
const DIGITS = /^[0-9]+$/;
const STRUCTURAL_CHARACTER = /[/?#@\\%]/;

const MISSING: ParsedOrigin = Object.freeze({ kind: "missing" });
const NULL_ORIGIN: ParsedOrigin = Object.freeze({ kind: "null" });

function malformed(message: string): ParsedOrigin {
  return { kind: "malformed", message };
}

export function parseOrigin(header: string | readonly string[] | undefined | null): ParsedOrigin {
  if (header === undefined || header === null) return MISSING;
  let value: unknown = header;
  if (typeof header !== "string") {
    // Several header lines as Node gives them (rawHeaders): one line is fine, more is an
    // ambiguity an attacker could exploit if two components picked different lines.
    if (!Array.isArray(header)) return malformed("the Origin header is not a string");
    if (header.length === 0) return MISSING;
    if (header.length > 1) return malformed(`several Origin header lines (${header.length}); send exactly one`);
    value = header[0];
  }
  if (typeof value !== "string") return malformed("the Origin header is not a string");
  if (value === "") return malformed("empty Origin header");
  // Browsers serialise the opaque origin exactly as "null" (lower case).
  if (value === "null") return NULL_ORIGIN;
  if (value.length > MAX_ORIGIN_LENGTH) return malformed(`Origin is longer than ${MAX_ORIGIN_LENGTH} characters`);
  if (value.includes(",")) return malformed("several origins joined by commas; an Origin header holds exactly one");
  if (WHITESPACE_OR_CONTROL.test(value)) return malformed("contains whitespace, control or invisible characters");

  const schemeMatch = SCHEME_AND_REST.exec(value);
  if (!schemeMatch) return malformed("expected scheme://host[:port], e.g. https://app.example.com");
  const scheme = schemeMatch[1]!.toLowerCase();
  const authority = schemeMatch[2]!;

  const structural = findStructuralProblem(authority);
  if (structural) return malformed(structural);

  let hostText: string;
  let portText: string | undefined;
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]");
    if (close < 0) return malformed("IPv6 address without a closing ']'");
    hostText = authority.slice(0, close + 1);
    const after = authority.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) return malformed("unexpected characters after the IPv6 address");
    portText = after === "" ? undefined : after.slice(1);
  } else {
    const colon = authority.indexOf(":");
    hostText = colon < 0 ? authority : authority.slice(0, colon);
    portText = colon < 0 ? undefined : authority.slice(colon + 1);
    if (portText?.includes(":")) return malformed("more than one ':' (an IPv6 address must be in brackets)");
  }
  if (hostText === "") return malformed("empty host");

  let port: number | null = null;
  if (portText !== undefined) {
    if (portText === "") return malformed("empty port after ':'");
    if (!DIGITS.test(portText)) return malformed(`port "${portText}" is not a number`);
    if (portText.length > 1 && portText.startsWith("0")) return malformed(`port "${portText}" has leading zeros`);
    const portNumber = Number(portText);
    if (portNumber > 65_535) return malformed(`port ${portText} is out of range (0-65535)`);
    port = portNumber === DEFAULT_PORTS.get(scheme) ? null : portNumber;
  }

  const parsedHost = parseHost(hostText);
  if (!parsedHost.ok) return malformed(parsedHost.message);
  const host = parsedHost.host;

  const origin = port === null ? `${scheme}://${host}` : `${scheme}://${host}:${port}`;
  return { kind: "origin", origin, scheme, host, port };
}

/**
 * The characters that would turn an authority into something more (RFC 3986 delimiters
 * and WHATWG's backslash-as-slash), named for the message.
 */
function findStructuralProblem(authority: string): string | null {
  const index = authority.search(STRUCTURAL_CHARACTER);
  if (index < 0) return null;
  switch (authority[index]) {
    case "/":
      return "has a path (even '/' is not allowed): an origin ends after the host or port";
    case "?":
      return "has a query string: an origin ends after the host or port";
    case "#":
      return "has a fragment: an origin ends after the host or port";
    case "@":
      return "has user info ('@'): an origin is scheme://host[:port] without credentials";
    case "\\":
      return "contains a backslash, which URL parsers read as '/'";
    default:
      return "contains percent-encoding; a host is never percent-encoded in an Origin";
  }
}
