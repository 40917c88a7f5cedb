/**
 * parseOrigin: turns the value of a handshake's `Origin` header into one of four cases
 * (SPEC §4.1): a well-formed origin in canonical form, the missing header, the opaque
 * `null` origin, or a malformed value with a message saying what is wrong.
 *
 * Invariants (the matcher relies on them):
 * - A `kind: "origin"` result is exactly `scheme://host[:port]`: scheme lower-case; host
 *   lower-case ASCII (IDN in punycode, IPv4 in dotted decimal, IPv6 compressed in
 *   brackets), made only of `[a-z0-9_-]` labels separated by single dots, with at most
 *   one trailing dot (kept: `example.com.` is a different host); port `null` when absent
 *   or equal to the scheme's default (80/443 for http/ws and https/wss).
 * - `parseOrigin(x.origin)` returns `x` again (canonical form is a fixed point).
 * - Strict: anything a browser would never send as an Origin (path, query, fragment,
 *   userinfo, percent-encoding, backslash, whitespace, control or invisible characters,
 *   several values) is malformed rather than "repaired", so no two parsers can disagree
 *   about which host a value names.
 *
 * Browser-safe: uses only the WHATWG `URL` global (for IDNA and IP canonicalisation, i.e.
 * the browser's own host parser). Pure and allocation-light: it runs on every handshake.
 */

export type ParsedOrigin =
  | { kind: "origin"; origin: string; scheme: string; host: string; port: number | null }
  | { kind: "missing" }
  | { kind: "null" }
  | { kind: "malformed"; message: string };

/** Longer than any origin a browser can produce (hosts are ≤ 253 characters). */
const MAX_ORIGIN_LENGTH = 2048;
const MAX_HOST_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

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
/** Canonical domain or IPv4 after the WHATWG host parser: non-empty labels, optional trailing dot. */
const CANONICAL_NAME = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?$/;
const DIGITS = /^[0-9]+$/;
const DOT = 0x2e;
const LOWER_LDH_NAME = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.?$/;
/** WHATWG "ends in a number": decimal digits, or 0x with hex digits (possibly none). */
const NUMERIC_LABEL = /^(?:[0-9]+|0[xX][0-9a-fA-F]*)$/;
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

  const host = canonicalHost(hostText);
  if (typeof host !== "string") return malformed(host.message);

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

/**
 * The browser's host parser (WHATWG URL: lower-casing, IDNA to punycode, IPv4/IPv6
 * canonicalisation), then our stricter character and DNS-length rules. The input has no
 * '/', '?', '#', '@', '\', '%', ':' (outside IPv6 brackets) or whitespace by now, so the
 * URL parser cannot read it as anything but a host.
 */
function canonicalHost(hostText: string): string | { message: string } {
  let host: string;
  if (isAlreadyCanonicalName(hostText)) {
    // What the URL parser would return unchanged; skipping it halves the cost of a
    // handshake's origin parsing. (A property test checks the two agree.)
    host = hostText;
  } else {
    try {
      host = new URL(`http://${hostText}`).hostname;
    } catch {
      return { message: `invalid host "${hostText}"` };
    }
  }
  if (host.startsWith("[")) return host;
  if (!CANONICAL_NAME.test(host)) {
    return { message: `host "${hostText}" contains characters that are not allowed in a host name` };
  }
  const length = host.endsWith(".") ? host.length - 1 : host.length;
  if (length > MAX_HOST_LENGTH) return { message: `host is longer than ${MAX_HOST_LENGTH} characters` };
  // Label lengths by scanning (split() would allocate an array on every handshake).
  let labelStart = 0;
  for (let index = 0; index <= length; index++) {
    if (index === length || host.charCodeAt(index) === DOT) {
      if (index - labelStart > MAX_LABEL_LENGTH) {
        return {
          message: `host label "${host.slice(labelStart, index)}" is longer than ${MAX_LABEL_LENGTH} characters`,
        };
      }
      labelStart = index + 1;
    }
  }
  return host;
}

/**
 * True for the common case the WHATWG host parser leaves untouched: lower-case letters,
 * digits and hyphens in non-empty dot-separated labels, no punycode label (`xn--` labels
 * are validated by IDNA), and a last label that is not a number (`123`, `0x1f` would make
 * the whole host an IPv4 address).
 */
function isAlreadyCanonicalName(hostText: string): boolean {
  if (!LOWER_LDH_NAME.test(hostText) || hostText.includes("xn--")) return false;
  const end = hostText.endsWith(".") ? hostText.length - 1 : hostText.length;
  const lastLabel = hostText.slice(hostText.lastIndexOf(".", end - 1) + 1, end);
  return !NUMERIC_LABEL.test(lastLabel);
}
