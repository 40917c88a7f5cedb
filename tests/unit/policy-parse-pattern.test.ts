/**
 * parsePattern: which allowlist patterns are accepted (and their normalised form) and which
 * are refused with a message that says how to write them (SPEC §4.2).
 *
 * Sources: the Public Suffix List (ICANN and private sections, via tldts) for the wildcard
 * refusals; coder/websocket's OriginPatterns (host globs like "*.example.com") and Django
 * Channels' OriginValidator tests (patterns with and without scheme/port) for the shapes
 * people write; PortSwigger "Exploiting CORS misconfigurations" for why `*example.com` is
 * refused (it would also match evilexample.com).
 */
import { describe, expect, it } from "vitest";
import { type ParsedPattern, parsePattern } from "../../server/policy";

const ACCEPTED: Array<[input: string, expected: ParsedPattern]> = [
  [
    "https://app.example.com",
    {
      kind: "exact",
      pattern: "https://app.example.com",
      origin: "https://app.example.com",
      scheme: "https",
      host: "app.example.com",
      port: null,
    },
  ],
  [
    "http://localhost:3000",
    {
      kind: "exact",
      pattern: "http://localhost:3000",
      origin: "http://localhost:3000",
      scheme: "http",
      host: "localhost",
      port: 3000,
    },
  ],
  [
    "capacitor://localhost",
    {
      kind: "exact",
      pattern: "capacitor://localhost",
      origin: "capacitor://localhost",
      scheme: "capacitor",
      host: "localhost",
      port: null,
    },
  ],
  [
    "https://*.example.com",
    { kind: "wildcard", pattern: "https://*.example.com", scheme: "https", suffix: "example.com", port: null },
  ],
  [
    "https://*.example.com:8443",
    { kind: "wildcard", pattern: "https://*.example.com:8443", scheme: "https", suffix: "example.com", port: 8443 },
  ],
  [
    "https://*.example.co.uk",
    { kind: "wildcard", pattern: "https://*.example.co.uk", scheme: "https", suffix: "example.co.uk", port: null },
  ],
  [
    "https://*.alice.github.io",
    { kind: "wildcard", pattern: "https://*.alice.github.io", scheme: "https", suffix: "alice.github.io", port: null },
  ],
  [
    "http://*.localhost:3000",
    { kind: "wildcard", pattern: "http://*.localhost:3000", scheme: "http", suffix: "localhost", port: 3000 },
  ],
  ["http://localhost:*", { kind: "any-port", pattern: "http://localhost:*", scheme: "http", host: "localhost" }],
  ["http://[::1]:*", { kind: "any-port", pattern: "http://[::1]:*", scheme: "http", host: "[::1]" }],
  ["*", { kind: "any", pattern: "*" }],
  ["null", { kind: "null", pattern: "null" }],
];

describe("parsePattern: accepted", () => {
  it.each(ACCEPTED)("%s", (input, expected) => {
    const result = parsePattern(input);
    expect(result).toEqual({ ok: true, value: expected });
  });

  it.each(ACCEPTED)("%s: the normalised form is a fixed point", (_input, expected) => {
    expect(parsePattern(expected.pattern)).toEqual({ ok: true, value: expected });
  });
});

describe("parsePattern: normalisation (stored form) and normalizedFrom", () => {
  it.each([
    ["HTTPS://App.Example.COM", "https://app.example.com"],
    ["https://app.example.com:443", "https://app.example.com"],
    ["  https://app.example.com\t", "https://app.example.com"],
    ["https://*.EXAMPLE.com:443", "https://*.example.com"],
    ["https://*.bücher.de", "https://*.xn--bcher-kva.de"],
    ["https://bücher.de", "https://xn--bcher-kva.de"],
    ["HTTP://LOCALHOST:*", "http://localhost:*"],
    ["https://BÜCHER.de:443", "https://xn--bcher-kva.de"],
    ["https://faß.de", "https://xn--fa-hia.de"],
    ["https://*.еxample.com", "https://*.xn--xample-2of.com"],
    ["http://[2001:DB8::1]:*", "http://[2001:db8::1]:*"],
    ["https://XN--BCHER-KVA.de", "https://xn--bcher-kva.de"],
    ["NULL", "null"],
    [" * ", "*"],
  ])("%j → %s", (input, pattern) => {
    const result = parsePattern(input);
    expect(result.ok && result.value.pattern).toBe(pattern);
    expect(result.ok && result.normalizedFrom).toBe(input);
  });

  it("has no normalizedFrom when the text is already normalised", () => {
    const result = parsePattern("https://app.example.com");
    expect(result.ok && "normalizedFrom" in result).toBe(false);
  });
});

const REFUSED: Array<[input: string, messageParts: string[], why: string]> = [
  ["", ["empty pattern"], "empty"],
  ["   ", ["empty pattern"], "blank"],
  ["*.com", ["missing scheme", "public suffix"], "PSL ICANN, no scheme"],
  ["https://*.com", ["top-level domain", "com"], "PSL ICANN TLD"],
  ["https://*.co.uk", ["public suffix", "co.uk"], "PSL ICANN second level"],
  ["https://*.github.io", ["public suffix", "github.io"], "PSL private section"],
  ["https://*.herokuapp.com", ["public suffix", "herokuapp.com"], "PSL private section"],
  ["https://*.s3.amazonaws.com", ["public suffix"], "PSL private section, multi-label"],
  ["https://*.corp", ["top-level domain"], "unlisted TLD: the PSL default rule makes it a suffix"],
  ["https://*.*.example.com", ['only one leading "*."', "https://*.example.com"], "double wildcard"],
  ["https://*.*", ['"*" is only allowed'], "star as the whole suffix"],
  ["https://ex*ample.com", ["whole first label"], "star inside a label"],
  ["https://app.*.example.com", ["whole first label"], "star in a middle label"],
  ["https://*example.com", ["followed by a dot", "https://*.example.com", "evilexample.com"], "partial label"],
  ["https://*", ["use * for any origin"], "bare star host"],
  ["https://*.example.com:*", ["wildcard port"], "both wildcards"],
  ["https://*.127.0.0.1", ["IP address"], "wildcard on IPv4"],
  ["https://*.[::1]", ["IP address"], "wildcard on IPv6"],
  ["https://example.com/", ["path", "write https://example.com"], "path '/'"],
  ["https://example.com/app/ws", ["path", "write https://example.com"], "path"],
  ["https://example.com?x=1", ["query", "write https://example.com"], "query"],
  ["https://example.com#x", ["fragment"], "fragment"],
  ["https://user:pw@example.com", ["user info", "write https://example.com"], "userinfo"],
  ["https://ex%61mple.com", ["percent-encoding"], "percent"],
  ["example.com", ["missing scheme", "https://example.com"], "bare host: suggest https://host"],
  ["app.example.com:8443", ["missing scheme", "https://app.example.com:8443"], "host:port without scheme"],
  ["localhost:*", ["missing scheme", "https://localhost:*"], "any-port without scheme"],
  ["https:/example.com", ['"https:" must be followed by "//"'], "one slash"],
  ["https://a.example.com, https://b.example.com", ["comma"], "two origins in one entry"],
  ["https://exa mple.com", ["whitespace"], "inner space"],
  ["https://example.com:99999", ["out of range"], "port"],
  ["https://example.com:abc", ["not a number"], "port"],
  ["https://", ["empty host"], "no host"],
  ["1https://example.com", ["not a scheme"], "bad scheme"],
  ["https://exa_mple!.com", ["not allowed in a host name"], "bad host characters"],
  // Hosts no browser sends as an Origin can never match one (SPEC §4.1): say what to write.
  ["http://127.1", ["IPv4", "write http://127.0.0.1"], "short IPv4"],
  ["http://2130706433:8080", ["IPv4", "write http://127.0.0.1:8080"], "IPv4 as one number"],
  ["http://0x7f.0.0.1:*", ["IPv4", "write http://127.0.0.1:*"], "hex IPv4, any port"],
  ["http://0127.0.0.1", ["write http://87.0.0.1"], "octal to URL parsers"],
  ["http://127.0.0.1.", ["trailing dot", "write http://127.0.0.1"], "trailing dot on an IP"],
  ["http://[0:0:0:0:0:0:0:1]:8080", ["write http://[::1]:8080"], "uncompressed IPv6"],
  ["http://[2001:0db8::1]", ["write http://[2001:db8::1]"], "leading zeros in IPv6"],
  ["http://[::ffff:127.0.0.1]", ["write http://[::ffff:7f00:1]"], "dotted IPv4 tail"],
  ["https://*.127.1", ["IP address 127.0.0.1"], "wildcard on a short IPv4"],
  ["https://*.[0::1]", ["IP address [::1]"], "wildcard on an uncompressed IPv6"],
  ["https://xn--zz.example.com", ["not valid punycode"], "invalid punycode"],
  ["https://*.xn--abc-.example.com", ["not valid punycode", "plain ASCII"], "punycode of plain ASCII"],
  ["https://foo.1", ["ends in a number"], "numeric last label"],
  // Typed Unicode: only case and encoding may change; other IDNA mappings differ between
  // runtimes (Node 20 maps faẞ.de to fass.de, another site) and are refused on all of them.
  ["https://ｅxample.com", ["IDNA rewrites", '"example.com"'], "fullwidth letter"],
  ["https://example。com", ["IDNA rewrites", '"example.com"'], "ideographic full stop"],
  ["https://bü\u00adcher.de", ["invisible"], "soft hyphen IDNA would delete"],
];

describe("parsePattern: refused, with a message that says what to write", () => {
  it.each(REFUSED)("%j (%s)", (input, messageParts) => {
    const result = parsePattern(input);
    expect(result.ok).toBe(false);
    for (const part of messageParts) expect(result.ok ? "" : result.message).toContain(part);
  });

  it("refuses non-string input without throwing", () => {
    expect(parsePattern(undefined as unknown as string).ok).toBe(false);
    expect(parsePattern({} as unknown as string).ok).toBe(false);
  });
});
