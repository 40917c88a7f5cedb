/**
 * parseOrigin: which Origin header values are well-formed origins (and their canonical
 * form) and which are malformed, missing or null (SPEC §4.1).
 *
 * Sources of the cases:
 * - RFC 6454 §6.2 (ASCII serialisation of an origin: scheme://host[:port], default port
 *   omitted, "null" for opaque origins) and §7 (the Origin header holds one origin).
 * - WHATWG URL Standard, host parsing: IDNA to punycode, IPv4 numeric forms, IPv6
 *   compression, forbidden host code points; percent-decoding of hosts (which we refuse).
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
  ["http://[0:0:0:0:0:0:0:1]:8080", "http://[::1]:8080", "[::1]", 8080, "WHATWG IPv6 compression"],
  ["http://[::FFFF:127.0.0.1]", "http://[::ffff:7f00:1]", "[::ffff:7f00:1]", null, "WHATWG IPv6 serialisation"],
  ["http://2130706433", "http://127.0.0.1", "127.0.0.1", null, "WHATWG IPv4 numeric form"],
  ["http://0x7f.1", "http://127.0.0.1", "127.0.0.1", null, "WHATWG IPv4 hex form"],
  ["https://bücher.de", "https://xn--bcher-kva.de", "xn--bcher-kva.de", null, "IDN compared in punycode"],
  ["https://BÜCHER.de", "https://xn--bcher-kva.de", "xn--bcher-kva.de", null, "IDN case-folded first"],
  ["https://xn--bcher-kva.de", "https://xn--bcher-kva.de", "xn--bcher-kva.de", null, "punycode stays"],
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
  ["https://exa<mple.com", "invalid host", "WHATWG forbidden host code point"],
  ["https://exa|mple.com", "invalid host", "WHATWG forbidden host code point"],
  ["https://example.com`", "not allowed in a host name", "WHATWG accepts, DNS does not (PortSwigger special chars)"],
  ["https://example.com}.evil.net", "not allowed in a host name", "special character after host"],
  ["https://example.com!.evil.net", "not allowed in a host name", "special character after host"],
  ["https://ex*ample.com", "not allowed in a host name", "asterisk"],
  ["https://a..b.com", "not allowed in a host name", "empty label"],
  ["https://.example.com", "not allowed in a host name", "leading dot"],
  ["https://example.com..", "not allowed in a host name", "two trailing dots"],
  ["https://foo.1", "invalid host", "WHATWG: a last label that is a number makes it an IPv4 address"],
  ["https://1.2.3.4.5", "invalid host", "WHATWG: too many IPv4 parts"],
  ["https://xn--zz", "invalid host", "invalid punycode"],
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
