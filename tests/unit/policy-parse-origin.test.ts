/**
 * parseOrigin: which Origin header values are well-formed origins (and their canonical
 * form) and which are malformed, missing or null (SPEC §4.1).
 *
 * Sources of the cases:
 * - RFC 6454 §6.2 (ASCII serialisation of an origin: scheme://host[:port], default port
 *   omitted, "null" for opaque origins) and §7 (the Origin header holds one origin).
 * - WHATWG URL Standard, host parsing: IDNA to punycode, IPv4 numeric forms, IPv6
 *   compression, forbidden host code points; percent-decoding of hosts. SPEC §4.1: an
 *   Origin must be what a browser serializes (Fetch `serialized-origin`), so every form a
 *   URL parser would rewrite (other than letter case and a default port) is malformed.
 * - tests/unit/policy-origin-corpus.test.ts holds the cross-runtime verdict table.
 * - coder/websocket accept_test.go Test_authenticateOrigin ("harhar.com" without a scheme,
 *   a garbage string, "https://examplE.com" compared case-insensitively).
 * - gorilla/websocket server_test.go checkSameOriginTests (host compared case-insensitively).
 * - Go x/net/websocket: a handshake without Origin is refused with 403 — here it is the
 *   distinct "missing" case, decided by policy.
 */
import { describe, expect, it } from "vitest";
import { parseOrigin } from "../../server/policy";

type Accepted = [input: string, origin: string, host: string, port: number | null, source: string];

const ACCEPTED: Accepted[] = [
  ["https://example.com", "https://example.com", "example.com", null, "RFC 6454 serialisation"],
  ["https://examplE.com", "https://example.com", "example.com", null, "coder/websocket authorizedCaseInsensitive"],
  ["HTTPS://EXAMPLE.COM", "https://example.com", "example.com", null, "scheme and host are case-insensitive"],
  ["https://example.com:443", "https://example.com", "example.com", null, "default port stripped (RFC 6454)"],
  ["http://example.com:80", "http://example.com", "example.com", null, "default port stripped"],
  ["wss://example.com:443", "wss://example.com", "example.com", null, "wss default port"],
  ["ws://example.com:80", "ws://example.com", "example.com", null, "ws default port"],
  ["http://example.com:443", "http://example.com:443", "example.com", 443, "443 is not http's default"],
  ["https://example.com:8443", "https://example.com:8443", "example.com", 8443, "explicit port kept"],
  ["http://localhost:3000", "http://localhost:3000", "localhost", 3000, "dev server"],
  ["http://127.0.0.1:5173", "http://127.0.0.1:5173", "127.0.0.1", 5173, "IPv4 literal"],
  ["http://[::1]:8080", "http://[::1]:8080", "[::1]", 8080, "IPv6 in brackets, canonical"],
  ["http://[::ffff:7f00:1]", "http://[::ffff:7f00:1]", "[::ffff:7f00:1]", null, "IPv4-mapped, as browsers send it"],
  ["http://[::FFFF:7F00:1]", "http://[::ffff:7f00:1]", "[::ffff:7f00:1]", null, "hex digits: letter case only"],
  ["http://[2001:db8::1]:8080", "http://[2001:db8::1]:8080", "[2001:db8::1]", 8080, "RFC 5952 form"],
  ["http://[::]", "http://[::]", "[::]", null, "unspecified address"],
  ["http://[1:0:0:2::3]", "http://[1:0:0:2::3]", "[1:0:0:2::3]", null, "first longest zero run compressed"],
  ["http://[1:2:3:4:5:6:7:8]", "http://[1:2:3:4:5:6:7:8]", "[1:2:3:4:5:6:7:8]", null, "no zero run"],
  ["http://0.0.0.0", "http://0.0.0.0", "0.0.0.0", null, "zero parts are single digits"],
  ["http://255.255.255.255", "http://255.255.255.255", "255.255.255.255", null, "largest IPv4"],
  ["https://xn--bcher-kva.de", "https://xn--bcher-kva.de", "xn--bcher-kva.de", null, "IDN in punycode, as sent"],
  ["https://XN--BCHER-KVA.DE", "https://xn--bcher-kva.de", "xn--bcher-kva.de", null, "punycode: letter case only"],
  ["https://xn--ls8h.la", "https://xn--ls8h.la", "xn--ls8h.la", null, "astral-plane IDN (emoji)"],
  ["https://1.2.example.com", "https://1.2.example.com", "1.2.example.com", null, "numeric labels before a name"],
  ["https://ab--cd.example", "https://ab--cd.example", "ab--cd.example", null, "-- outside xn--: CheckHyphens off"],
  ["https://-a-.example", "https://-a-.example", "-a-.example", null, "edge hyphens: browsers send them"],
  ["https://example.com.", "https://example.com.", "example.com.", null, "trailing dot kept: a different host"],
  ["capacitor://localhost", "capacitor://localhost", "localhost", null, "Capacitor iOS apps"],
  ["tauri://localhost", "tauri://localhost", "localhost", null, "Tauri apps"],
  ["chrome-extension://abcdefghijklmnop", "chrome-extension://abcdefghijklmnop", "abcdefghijklmnop", null, "extension"],
  ["https://a_b.example.com", "https://a_b.example.com", "a_b.example.com", null, "underscore seen in real hosts"],
  ["http://example.com:0", "http://example.com:0", "example.com", 0, "port 0 is in range"],
  ["http://example.com:65535", "http://example.com:65535", "example.com", 65535, "highest port"],
];

type Refused = [input: string, messagePart: string, source: string];

const MALFORMED: Refused[] = [
  ["", "empty", "empty header value"],
  ["https://example.com/", "path", "even '/' is a path (RFC 6454: no path in an origin)"],
  ["https://example.com/app", "path", "path"],
  ["https://example.com?x=1", "query", "query"],
  ["https://example.com#top", "fragment", "fragment"],
  ["https://user@example.com", "user info", "userinfo"],
  ["https://example.com@evil.net", "user info", "userinfo trick: host would be evil.net"],
  ["https://evil.net\\@example.com", "backslash", "WHATWG reads \\ as /"],
  ["https://ex%61mple.com", "percent", "WHATWG would percent-decode to example.com"],
  ["https://example.com%2eevil.net", "percent", "encoded dot"],
  ["https:// example.com", "whitespace", "space"],
  ["https://example.com ", "whitespace", "trailing space (HTTP parsers strip OWS; anything left is inside)"],
  ["https://exa\tmple.com", "whitespace", "tab (WHATWG strips it silently)"],
  ["https://example.com\r\nX-Injected: 1", "whitespace", "CR/LF"],
  ["https://exa\u0000mple.com", "control", "NUL"],
  ["https://exa\u007fmple.com", "control", "DEL"],
  ["https://exam\u00admple.com", "invisible", "soft hyphen: IDNA would delete it"],
  ["https://exa\u200bmple.com", "invisible", "zero-width space"],
  ["https://example.com\u3000", "whitespace", "ideographic space"],
  ["https://a.example.com, https://b.example.com", "comma", "RFC 6454 §7 allows a list, browsers send one"],
  ["https://a.example.com,https://b.example.com", "comma", "comma-joined without space"],
  ["https://", "empty host", "empty host"],
  ["https://:443", "empty host", "port without host"],
  ["https://example.com:", "empty port", "colon without port"],
  ["https://example.com:99999", "out of range", "port > 65535"],
  ["https://example.com:65536", "out of range", "port > 65535"],
  ["https://example.com:-1", "not a number", "negative port"],
  ["https://example.com:abc", "not a number", "letters"],
  ["https://example.com:+443", "not a number", "sign"],
  ["https://example.com:0443", "leading zeros", "leading zeros (WHATWG would accept)"],
  ["https://example.com:443:443", "more than one", "two colons"],
  ["http://::1", "more than one", "IPv6 without brackets"],
  ["http://[::1", "closing", "unclosed bracket"],
  ["http://[::1]x", "after the IPv6", "junk after bracket"],
  ["http://[::1%25eth0]", "percent", "zone id"],
  ["harhar.com", "scheme://host", "coder/websocket badOrigin: no scheme"],
  ["$#)(*)$#@*$(#@*$)#@*%)#(@*%)#(@%#@$#@$#$#@$#@}{}{}", "scheme://host", "coder/websocket invalid"],
  ["//example.com", "scheme://host", "scheme-relative"],
  ["https:example.com", "scheme://host", "no //"],
  ["https:/example.com", "scheme://host", "one slash"],
  ["1http://example.com", "scheme://host", "scheme must start with a letter"],
  ["https://exa<mple.com", "not allowed in a host name", "WHATWG forbidden host code point"],
  ["https://exa|mple.com", "not allowed in a host name", "WHATWG forbidden host code point"],
  ["https://example.com`", "not allowed in a host name", "WHATWG accepts, DNS does not (PortSwigger special chars)"],
  ["https://example.com}.evil.net", "not allowed in a host name", "special character after host"],
  ["https://example.com!.evil.net", "not allowed in a host name", "special character after host"],
  ["https://ex*ample.com", "not allowed in a host name", "asterisk"],
  ["https://a..b.com", "not allowed in a host name", "empty label"],
  ["https://.example.com", "not allowed in a host name", "leading dot"],
  ["https://example.com..", "not allowed in a host name", "two trailing dots"],
  ["https://foo.1", "ends in a number", "WHATWG: a last label that is a number makes it an IPv4 address"],
  ["https://foo.0x", "ends in a number", "WHATWG: 0x is a number too"],
  ["https://1.2.3.4.5", "ends in a number", "WHATWG: too many IPv4 parts"],
  ["http://256.0.0.1", "ends in a number", "part above 255"],
  // SPEC §4.1: forms a URL parser rewrites are not serialized origins (issue 11 item 7).
  ["http://2130706433", "rewrite it to 127.0.0.1", "IPv4 as one number"],
  ["http://127.1", "rewrite it to 127.0.0.1", "short IPv4"],
  ["http://0x7f.0.0.1", "rewrite it to 127.0.0.1", "hex IPv4 part"],
  ["http://0x7f.1", "rewrite it to 127.0.0.1", "hex and short"],
  ["http://0127.0.0.1", "rewrite it to 87.0.0.1", "leading zero: octal to URL parsers, decimal to others"],
  ["http://127.0.0.01", "rewrite it to 127.0.0.1", "leading zero in the last part"],
  ["http://127.0.0.1.", "trailing dot", "a trailing dot on an IP"],
  ["http://4294967295", "rewrite it to 255.255.255.255", "largest 32-bit number"],
  ["http://[0:0:0:0:0:0:0:1]:8080", "not in the form browsers send ([::1]", "uncompressed IPv6"],
  ["http://[2001:0db8::1]", "([2001:db8::1]", "leading zeros in an IPv6 piece"],
  ["http://[::FFFF:127.0.0.1]", "([::ffff:7f00:1]", "dotted IPv4 tail: browsers send hex"],
  ["http://[1:2:3:4:5:6::8]", "([1:2:3:4:5:6:0:8]", "a single zero piece is not compressed"],
  ["http://[0::]", "([::]", "zero written out"],
  ["http://[1:2:3:4:5:6:7:8:9]", "invalid IPv6", "nine pieces"],
  ["http://[::1::]", "invalid IPv6", "two ::"],
  ["http://[]", "invalid IPv6", "empty brackets"],
  ["http://[example.com]", "invalid IPv6", "a name in brackets"],
  ["https://bücher.de", "not ASCII", "browsers send IDN hosts in punycode"],
  ["https://BÜCHER.de", "not ASCII", "browsers send IDN hosts in punycode"],
  ["https://еxample.com", "not ASCII", "Cyrillic homoglyph, unencoded"],
  ["https://ｅxample.com", "not ASCII", "fullwidth letter a URL parser would map to e"],
  ["https://xn--zz", "not valid punycode", "invalid punycode (Node 24 and Chromium accept it, Node 20 does not)"],
  ["https://xn--", "nothing after", "empty A-label"],
  ["https://xn--abc-.example", "plain ASCII", "decodes to abc (UTS #46 since Unicode 15.1)"],
  ["https://xn---kva.example", "does not decode", "a delimiter with no basic code point before it"],
  ["https://xn--abc.example", "U+0082", "decodes to C1 controls"],
  ["https://xn--zn7c.example", "U+FFFD", "decodes to the replacement character"],
  ["https://xn--a_b.example", "does not decode", "underscore is not a punycode digit"],
  ["https://xn--xn--bcher-u9a.example", "another", "decodes to a label starting with xn--"],
  [`https://${"a".repeat(64)}.com`, "longer than 63", "DNS label length"],
  [`https://${"abcdefghi.".repeat(26)}com`, "longer than 253", "DNS name length"],
  [`https://${"a".repeat(3000)}.com`, "longer than 2048", "overall length cap"],
  ["NULL", "scheme://host", "only the exact serialisation null is the opaque origin"],
  ["Null", "scheme://host", "case matters for null"],
  [" null", "whitespace", "null with a space"],
];

describe("parseOrigin: well-formed origins", () => {
  it.each(ACCEPTED)("%s → %s (%s)", (input, origin, host, port) => {
    const scheme = origin.slice(0, origin.indexOf(":"));
    expect(parseOrigin(input)).toEqual({ kind: "origin", origin, scheme, host, port });
  });

  it.each(ACCEPTED)("%s: the canonical form parses to itself", (_input, origin) => {
    const again = parseOrigin(origin);
    expect(again.kind === "origin" && again.origin).toBe(origin);
  });

  it("keeps a trailing-dot host distinct from the name without it", () => {
    const dotted = parseOrigin("https://example.com.");
    const plain = parseOrigin("https://example.com");
    expect(dotted.kind === "origin" && plain.kind === "origin" && dotted.origin !== plain.origin).toBe(true);
  });
});

describe("parseOrigin: malformed values", () => {
  it.each(MALFORMED)("%j is malformed (%s) — %s", (input, messagePart) => {
    const parsed = parseOrigin(input);
    expect(parsed.kind).toBe("malformed");
    expect(parsed.kind === "malformed" && parsed.message).toContain(messagePart);
  });
});

describe("parseOrigin: missing and null", () => {
  it("undefined and null mean no Origin header", () => {
    expect(parseOrigin(undefined)).toEqual({ kind: "missing" });
    expect(parseOrigin(null)).toEqual({ kind: "missing" });
  });

  it('"null" is the opaque origin (sandboxed iframe, file://, redirects)', () => {
    expect(parseOrigin("null")).toEqual({ kind: "null" });
  });

  it("accepts header lines as Node gives them: none, one, or several (malformed)", () => {
    expect(parseOrigin([])).toEqual({ kind: "missing" });
    expect(parseOrigin(["https://example.com"])).toMatchObject({ kind: "origin", origin: "https://example.com" });
    expect(parseOrigin(["null"])).toEqual({ kind: "null" });
    const twoLines = parseOrigin(["https://example.com", "https://evil.net"]);
    expect(twoLines.kind).toBe("malformed");
    expect(twoLines.kind === "malformed" && twoLines.message).toContain("several Origin header lines");
    // Even two identical lines: a second Origin line is never sent by a browser.
    expect(parseOrigin(["https://example.com", "https://example.com"]).kind).toBe("malformed");
  });

  it("refuses non-string input from untyped callers instead of throwing", () => {
    expect(parseOrigin(42 as unknown as string).kind).toBe("malformed");
    expect(parseOrigin([42] as unknown as string[]).kind).toBe("malformed");
  });
});
