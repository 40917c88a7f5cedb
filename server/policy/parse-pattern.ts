/**
 * parsePattern: validates one allowlist pattern as a user typed it (SPEC §4.2) and returns
 * its normalised form, or a message that says what is wrong and how to write it.
 *
 * Accepted forms (after trimming surrounding whitespace):
 * - `https://app.example.com[:port]` exact origin, any scheme (default port = no port);
 * - `https://*.example.com[:port]`   every subdomain at any depth, same scheme and port,
 *                                     never the apex itself;
 * - `http://localhost:*`             any port (including the default) on that host;
 * - `*`                              any well-formed non-null origin;
 * - `null`                           the opaque origin.
 *
 * Invariants:
 * - Hosts are checked by `parseHost`, the same rules an Origin header meets, so a pattern
 *   and an Origin header can never be normalised differently (one parser everywhere). A
 *   pattern may be typed in Unicode (`https://bücher.de`): it is converted to punycode
 *   (`hostToAscii`: accepted only when IDNA changes nothing but case and encoding, so the
 *   stored form is the same on every runtime) and stored in that form;
 *   letter case and a default port are normalised. A host an Origin could never carry —
 *   an IPv4 address written as `127.1`, `2130706433`, `0x7f.0.0.1`, an uncompressed IPv6
 *   address, invalid punycode — is refused with the form to write instead.
 * - A wildcard never sits on a public suffix (ICANN or private section of the Public Suffix
 *   List, via tldts: `*.com`, `*.co.uk`, `*.github.io`, an unlisted TLD like `*.corp`) nor
 *   on an IP address. `*.localhost` is the one exception: every name under it is loopback.
 * - `parsePattern(p.value.pattern)` returns the same value (normalised form is a fixed point).
 *
 * Browser-safe: the dashboard calls this while the user types.
 */
import { getPublicSuffix } from "tldts";
import { hostToAscii, parseHost } from "./parse-host";
import { parseOrigin } from "./parse-origin";

export type ParsedPattern =
  | { kind: "exact"; pattern: string; origin: string; scheme: string; host: string; port: number | null }
  | { kind: "wildcard"; pattern: string; scheme: string; suffix: string; port: number | null }
  | { kind: "any-port"; pattern: string; scheme: string; host: string }
  | { kind: "any"; pattern: "*" }
  | { kind: "null"; pattern: "null" };

export type PatternResult =
  | { ok: true; value: ParsedPattern; normalizedFrom?: string }
  | { ok: false; message: string };

const MAX_PATTERN_LENGTH = 2048;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;
const WHITESPACE_OR_CONTROL = /[\p{Cc}\p{Cf}\p{Z}\s]/u;
/** `localhost:3000`, `example.com:*` — a host and port typed without a scheme. */
const HOST_COLON_PORT = /^[^:/]+:(?:[0-9]+|\*)$/;

function fail(message: string): PatternResult {
  return { ok: false, message };
}

export function parsePattern(text: string): PatternResult {
  if (typeof text !== "string") return fail("a pattern must be a string");
  const trimmed = text.trim();
  const ok = (value: ParsedPattern): PatternResult =>
    value.pattern === text ? { ok: true, value } : { ok: true, value, normalizedFrom: text };

  if (trimmed === "") return fail("empty pattern: write an origin such as https://app.example.com");
  if (trimmed === "*") return ok({ kind: "any", pattern: "*" });
  if (trimmed.toLowerCase() === "null") return ok({ kind: "null", pattern: "null" });
  if (trimmed.length > MAX_PATTERN_LENGTH) return fail(`pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
  if (trimmed.includes(",")) return fail("contains a comma: put each origin in its own entry");
  if (WHITESPACE_OR_CONTROL.test(trimmed)) {
    return fail("contains whitespace, control or invisible characters inside the pattern");
  }

  const separator = trimmed.indexOf("://");
  if (separator < 0) return missingScheme(trimmed);
  const schemeText = trimmed.slice(0, separator);
  if (!SCHEME.test(schemeText)) {
    return fail(`"${schemeText}" is not a scheme: write scheme://host, e.g. https://app.example.com`);
  }
  const scheme = schemeText.toLowerCase();
  const authority = trimmed.slice(separator + 3);

  const structural = structuralProblem(scheme, authority);
  if (structural) return fail(structural);

  const split = splitHostAndPort(authority);
  if (typeof split === "string") return fail(split);
  const { hostText, portText } = split;
  if (hostText === "") return fail(`empty host: write ${scheme}://app.example.com`);

  if (hostText.includes("*")) return parseWildcard(scheme, hostText, portText, ok);

  if (portText === "*") {
    const parsed = originOf(scheme, hostText, undefined, ":*");
    if (typeof parsed === "string") return fail(parsed);
    return ok({ kind: "any-port", pattern: `${scheme}://${parsed.host}:*`, scheme, host: parsed.host });
  }

  const parsed = originOf(scheme, hostText, portText);
  if (typeof parsed === "string") return fail(parsed);
  return ok({
    kind: "exact",
    pattern: parsed.origin,
    origin: parsed.origin,
    scheme: parsed.scheme,
    host: parsed.host,
    port: parsed.port,
  });
}

function parseWildcard(
  scheme: string,
  hostText: string,
  portText: string | undefined,
  ok: (value: ParsedPattern) => PatternResult,
): PatternResult {
  if (hostText === "*") {
    return fail(`"${scheme}://*" is not a pattern: use * for any origin, or ${scheme}://*.example.com for subdomains`);
  }
  if (!hostText.startsWith("*.")) {
    if (hostText.startsWith("*")) {
      return fail(
        `"*" must be followed by a dot: write ${scheme}://*.${hostText.slice(1).replace(/^\.+/, "")} for its subdomains ` +
          "(the domain itself needs its own entry); a partial label like *example.com would also match evilexample.com",
      );
    }
    return fail(`"*" is only allowed as the whole first label, e.g. ${scheme}://*.example.com`);
  }
  const suffixText = hostText.slice(2);
  if (suffixText.includes("*")) {
    if (suffixText.startsWith("*.")) {
      return fail(
        `only one leading "*." is allowed: ${scheme}://*.${suffixText.replace(/^(\*\.)+/, "")} already matches subdomains at any depth`,
      );
    }
    return fail(`"*" is only allowed as the whole first label, e.g. ${scheme}://*.example.com`);
  }
  if (portText === "*") {
    return fail("a wildcard host cannot be combined with a wildcard port: list the ports you use, one entry each");
  }
  const parsed = originOf(scheme, suffixText, portText);
  if (typeof parsed === "string") {
    // "*.127.1" would be refused for its IPv4 form; the point to make is that it is an IP.
    const host = parseHost(suffixText);
    if (!host.ok && host.canonical !== undefined) return fail(wildcardOnIp(host.canonical));
    return fail(parsed);
  }
  const suffix = parsed.host;
  if (suffix.startsWith("[") || isIpv4(suffix)) return fail(wildcardOnIp(suffix));
  const publicSuffixProblem = wildcardOnPublicSuffix(suffix);
  if (publicSuffixProblem) return fail(publicSuffixProblem);
  const port = parsed.port === null ? "" : `:${parsed.port}`;
  return ok({ kind: "wildcard", pattern: `${scheme}://*.${suffix}${port}`, scheme, suffix, port: parsed.port });
}

/** Why `*.<suffix>` would reach sites of unrelated owners, or null when it does not. */
function wildcardOnPublicSuffix(suffix: string): string | null {
  const name = suffix.endsWith(".") ? suffix.slice(0, -1) : suffix;
  if (name === "localhost") return null;
  // allowPrivateDomains: github.io, herokuapp.com, blogspot.com... are as shared as .com.
  // Unlisted names fall under the PSL's default "*" rule, so a bare unknown TLD counts too.
  const publicSuffix = getPublicSuffix(name, { allowPrivateDomains: true });
  if (publicSuffix !== name) return null;
  const example = `https://*.yourname.${name}`;
  if (!name.includes(".")) {
    return `*.${name} covers the whole top-level domain "${name}" (a public suffix): anyone can register a site under it; write a domain you own, e.g. ${example}`;
  }
  return `*.${name} is a wildcard on a public suffix ("${name}" is on the Public Suffix List): names under it belong to unrelated owners; write a domain you own, e.g. ${example}`;
}

/** Path, query, fragment, user info... with the origin the user probably meant. */
function structuralProblem(scheme: string, authority: string): string | null {
  const cut = authority.search(/[/?#\\]/);
  if (cut >= 0) {
    const what = { "/": "a path", "?": "a query string", "#": "a fragment", "\\": "a backslash" }[authority[cut]!];
    const kept = authority.slice(0, cut);
    const meant = `${scheme}://${kept.slice(kept.lastIndexOf("@") + 1)}`;
    return `has ${what} ("${authority.slice(cut)}"): an origin ends after the host or port — write ${meant}`;
  }
  const at = authority.lastIndexOf("@");
  if (at >= 0) {
    return `has user info ("${authority.slice(0, at + 1)}"): origins never carry credentials — write ${scheme}://${authority.slice(at + 1)}`;
  }
  if (authority.includes("%")) return "contains percent-encoding: type the host as it is (IDN like bücher.de is fine)";
  return null;
}

function splitHostAndPort(authority: string): { hostText: string; portText: string | undefined } | string {
  // "*.[::1]" is refused later with a clear message; split it like "[::1]" to get there.
  const wildcardPrefix = authority.startsWith("*.[") ? "*." : "";
  if (authority.startsWith("[", wildcardPrefix.length)) {
    const close = authority.indexOf("]");
    if (close < 0) return "IPv6 address without a closing ']'";
    const after = authority.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) return "unexpected characters after the IPv6 address";
    return { hostText: authority.slice(0, close + 1), portText: after === "" ? undefined : after.slice(1) };
  }
  const colon = authority.indexOf(":");
  if (colon < 0) return { hostText: authority, portText: undefined };
  const portText = authority.slice(colon + 1);
  if (portText.includes(":")) return "more than one ':' (an IPv6 address must be in brackets, e.g. http://[::1]:8080)";
  return { hostText: authority.slice(0, colon), portText };
}

/**
 * `scheme://host[:port]` checked as an Origin header would be, after converting a Unicode
 * host to punycode; or a message, naming the form to write when the host is an IP address
 * in a form browsers never send.
 */
function originOf(
  scheme: string,
  hostText: string,
  portText: string | undefined,
  shownPort = portText === undefined ? "" : `:${portText}`,
): (ReturnType<typeof parseOrigin> & { kind: "origin" }) | string {
  const ascii = hostToAscii(hostText);
  if (!ascii.ok) return ascii.message;
  const portSuffix = portText === undefined ? "" : `:${portText}`;
  const host = parseHost(ascii.ascii);
  if (!host.ok) {
    return host.canonical === undefined
      ? host.message
      : `${host.message} — write ${scheme}://${host.canonical}${shownPort}`;
  }
  const parsed = parseOrigin(`${scheme}://${host.host}${portSuffix}`);
  if (parsed.kind === "origin") return parsed;
  return parsed.kind === "malformed" ? parsed.message : "not an origin";
}

function isIpv4(host: string): boolean {
  const parsed = parseHost(host);
  return parsed.ok && parsed.type === "ipv4";
}

function wildcardOnIp(address: string): string {
  return `wildcards need a domain name: the IP address ${address} has no subdomains; list each origin`;
}

/** A bare host (or host:port, or *.host) typed without a scheme: say which scheme to add. */
function missingScheme(text: string): PatternResult {
  // "https:/example.com", "https:example.com/": a scheme typed without its "//".
  if ((/^[A-Za-z][A-Za-z0-9+.-]*:\//.test(text) || /^(?:https?|wss?):/i.test(text)) && !HOST_COLON_PORT.test(text)) {
    const colon = text.indexOf(":");
    return fail(`"${text.slice(0, colon + 1)}" must be followed by "//": write e.g. https://app.example.com`);
  }
  const withHttps = parsePattern(`https://${text.replace(/^\/\//, "")}`);
  if (!withHttps.ok) return fail(`missing scheme, and ${withHttps.message}`);
  return fail(
    `missing scheme: write ${withHttps.value.pattern} (or http:// for a page served without TLS); origins always name their scheme`,
  );
}
