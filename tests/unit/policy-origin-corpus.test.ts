/**
 * Cross-runtime verdict table (issue 20, SPEC §4.1 "these verdicts must not depend on the
 * Node.js version"). The same corpus runs in every unit tier, and CI runs the unit tier on
 * the machine's Node and again on Node 24 (.ci/run): the verdicts must equal the committed
 * table on both. A runtime whose parsers differ shows up here as a diff of
 * tests/unit/fixtures/origin-corpus.json, not as a silent change of what the gateway admits.
 *
 * The corpus collects the values on which runtimes were seen to disagree, as measured with
 * `new URL("http://" + host).hostname` (2026-12-02): Node 20.20.2 (Ada 2.9.2), Node 24.22.3
 * (Ada 4.0.0) and Debian's Chromium 156:
 * - `xn--` labels: Node 20 applies UTS #46's table checks, Node 24 and Chromium accept any
 *   ASCII `xn--` label (even `xn--zz`, which is not Punycode). Of the 46,656 three-character
 *   A-labels Node 20 accepts 27,353, Node 24 and Chromium all; the engine's own rules
 *   (parse-host.ts) accept 31,868 on every runtime, a superset of Node 20's.
 * - typed Unicode: Node 20 maps `faẞ.de` to `fass.de` (Node 24 and Chromium: `faß.de`) and
 *   refuses scripts added in Unicode 16 and 17 that Node 24 converts.
 * - forms all three rewrite alike (IPv4 numeric forms, IPv6 compression, IDN to punycode)
 *   are refused for Origin headers by SPEC §4.1, and are in the table so that stays so.
 *
 * Update the table after a deliberate rule change with
 * `npx vitest run --project unit tests/unit/policy-origin-corpus.test.ts -u`, and review the
 * diff: a verdict that changed without a rule change is a runtime difference to fix.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseOrigin, parsePattern } from "../../server/policy";
import { decodePunycode } from "../../server/policy/punycode";

type Entry = [input: string, note: string];

const ORIGINS: Entry[] = [
  // IPv4 (SPEC §4.1's own examples first).
  ["http://2130706433", "SPEC: one number; every URL parser reads 127.0.0.1"],
  ["http://127.1", "SPEC: short form"],
  ["http://0x7f.0.0.1", "SPEC: hex part"],
  ["http://0127.0.0.1", "octal to WHATWG and inet_aton (87.0.0.1), decimal to others"],
  ["http://127.0.0.1.", "SPEC: trailing dot on an IP"],
  ["http://127.0.0.1", "canonical"],
  ["http://0.0.0.0:8080", "canonical, port"],
  ["http://4294967295", "largest 32-bit number"],
  ["http://4294967296", "beyond IPv4"],
  ["http://1.2.3.4.5", "five parts"],
  ["http://256.0.0.1", "part above 255"],
  ["http://1.2.3.09", "09 is no octal number"],
  ["http://foo.1", "numeric last label"],
  ["http://foo.0x", "0x is numeric to WHATWG"],
  ["http://foo.0x1g", "not a number: a name"],
  ["http://1.2.example.com", "numeric labels inside a name"],
  // IPv6.
  ["http://[0:0:0:0:0:0:0:1]", "SPEC: uncompressed"],
  ["http://[2001:0db8::1]", "SPEC: leading zeros"],
  ["http://[2001:db8::1]", "canonical"],
  ["http://[2001:DB8::1]", "letter case only"],
  ["http://[::FFFF:127.0.0.1]", "dotted tail, upper case"],
  ["http://[::ffff:7f00:1]", "canonical IPv4-mapped"],
  ["http://[::]", "unspecified"],
  ["http://[0::]", "zero written out"],
  ["http://[1:0:0:2::3]", "first longest zero run"],
  ["http://[1::2:0:0:3]", "not the first longest run"],
  ["http://[1:2:3:4:5:6::8]", "single zero piece compressed"],
  ["http://[1:2:3:4:5:6:0:8]", "canonical with a single zero"],
  ["http://[::1.2.3.4]", "IPv4-compatible, dotted"],
  ["http://[::1%25eth0]", "zone id"],
  ["http://[::1]:0443", "port with a leading zero"],
  // Names and IDN.
  ["https://example.com", "plain"],
  ["HTTPS://EXAMPLE.COM:443", "case and default port: the two forgiven rewrites"],
  ["https://example.com.", "trailing dot: another host"],
  ["https://a_b.example.com", "underscore"],
  ["https://-ab.example", "leading hyphen (CheckHyphens off in browsers)"],
  ["https://ab--cd.example", "-- in positions 3-4, not xn--"],
  ["https://bücher.de", "Unicode host: browsers send punycode"],
  ["https://xn--bcher-kva.de", "punycode"],
  ["https://XN--BCHER-KVA.DE", "punycode, upper case"],
  ["https://xn--Bcher-kva.de", "upper-case basic code point"],
  ["https://xn--zz", "issue 20: Node 24 and Chromium accept, Node 20 refuses"],
  ["https://xn--", "empty A-label"],
  ["https://xn--a.example", "decodes to U+0080"],
  ["https://xn--abc.example", "C1 controls; Node 24 and Chromium accept"],
  ["https://xn--abc-.example", "decodes to ASCII; all three accept"],
  ["https://xn---bcher-kva.example", "decodes to -bcêher; all three accept"],
  ["https://xn--bcher-kva-.example", "trailing delimiter: decodes to ASCII"],
  ["https://xn---kva.example", "delimiter with nothing before it"],
  ["https://xn--kva.example", "leading combining mark: Node 20 refuses, Node 24 and Chromium accept"],
  ["https://xn--a-ecp.ru", "a⒈ (UTS #46 disallowed): Node 20 refuses, Node 24 and Chromium accept"],
  ["https://xn--ab--lsa.example", "upper-case Ġ (UTS #46 mapped): Node 20 refuses"],
  ["https://xn--1ug.example", "lone ZWJ (CONTEXTJ): Node 20 refuses"],
  ["https://xn--zn7c.example", "U+FFFD"],
  ["https://xn--ls8h.la", "emoji"],
  ["https://xn--fa-hia.de", "faß.de"],
  ["https://xn--a-7p6m.com", "Kirat Rai (Unicode 16) in punycode"],
  ["https://xn--xn--bcher-u9a.example", "decodes to another xn-- label"],
  ["https://xn--a_b.example", "underscore among the digits"],
  ["https://ｅxample.com", "fullwidth: URL parsers map it to example.com"],
  ["https://example。com", "ideographic full stop: URL parsers map it to a dot"],
  ["https://exa\u00admple.com", "soft hyphen: URL parsers delete it"],
  ["https://a\u200db.com", "zero-width joiner"],
  ["https://ex%61mple.com", "percent-encoded host"],
  ["https://exa<mple.com", "WHATWG forbidden host code point"],
  ["https://example.com`", "accepted by URL parsers, not by DNS"],
  [`https://${"a".repeat(64)}.com`, "label of 64 (URL parsers accept: VerifyDnsLength off)"],
  ["null", "the opaque origin"],
];

const PATTERNS: Entry[] = [
  ["https://bücher.de", "Unicode, stored in punycode"],
  ["https://BÜCHER.de", "Unicode upper case"],
  ["https://u\u0308ber.de", "decomposed ü: NFC"],
  ["https://faß.de", "ß stays ß (nontransitional, every runtime here)"],
  ["https://*.еxample.com", "Cyrillic е"],
  ["https://ｅxample.com", "fullwidth: an IDNA mapping, refused"],
  ["https://example。com", "ideographic full stop, refused"],
  ["https://xn--zz.example.com", "invalid punycode"],
  ["https://xn--a-7p6m.com", "punycode of a Unicode 16 script: accepted everywhere"],
  ["http://127.1", "short IPv4"],
  ["http://[2001:0db8::1]:*", "leading zeros, any port"],
  ["http://[2001:DB8::1]", "letter case"],
  ["https://*.127.0.0.1", "wildcard on an IP"],
];

function originVerdict(input: string): string {
  const parsed = parseOrigin(input);
  if (parsed.kind === "origin") return `origin ${parsed.origin}`;
  if (parsed.kind === "malformed") return `malformed: ${parsed.message}`;
  return parsed.kind;
}

function patternVerdict(input: string): string {
  const result = parsePattern(input);
  return result.ok ? `stored as ${result.value.pattern}` : `refused: ${result.message}`;
}

describe("the engine's verdicts are the committed table, whatever the runtime", () => {
  it(`Origin headers (on Node ${process.versions.node})`, async () => {
    const table = ORIGINS.map(([input, note]) => ({ input, note, verdict: originVerdict(input) }));
    const patterns = PATTERNS.map(([input, note]) => ({ input, note, verdict: patternVerdict(input) }));
    await expect(`${JSON.stringify({ origins: table, patterns }, null, 2)}\n`).toMatchFileSnapshot(
      "./fixtures/origin-corpus.json",
    );
  });

  it("every A-label of three characters: the committed count and digest", () => {
    const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    let bits = "";
    for (const a of alphabet)
      for (const b of alphabet)
        for (const c of alphabet) bits += parseOrigin(`https://xn--${a}${b}${c}.example`).kind === "origin" ? "1" : "0";
    const accepted = bits.split("").filter((bit) => bit === "1").length;
    expect({ accepted, digest: createHash("sha256").update(bits).digest("hex").slice(0, 16) }).toEqual({
      accepted: 31_868,
      digest: "d51bc001255ff798",
    });
  });
});

/** A host with its punycode labels decoded (by our codec, not the runtime's). */
function spell(host: string): string {
  return host
    .split(".")
    .map((label) =>
      label.startsWith("xn--") ? String.fromCodePoint(...(decodePunycode(label.slice(4)) ?? [])) : label,
    )
    .join(".");
}

describe("typed Unicode hosts (the one place the runtime's IDNA is used)", () => {
  // Runtimes disagree on these: accepted on some, refused on others, never stored differently.
  const DISPUTED = ["https://faẞ.de", "https://𖵃a.com", "https://Ɤa.com", "https://ΑΣ.gr", "https://K.com"];

  it.each([...DISPUTED, ...PATTERNS.map(([input]) => input)])(
    "%s is refused, or stored as the punycode of its lower-case NFC spelling",
    (input) => {
      const result = parsePattern(input);
      if (!result.ok) return;
      const typed = input
        .slice(input.indexOf("://") + 3)
        .replace(/^\*\./, "")
        .replace(/:(?:\d+|\*)$/, "");
      const host =
        result.value.kind === "wildcard" ? result.value.suffix : "host" in result.value ? result.value.host : "";
      if (typed.startsWith("[") || /^[0-9.]+$/.test(host)) return; // IP literals: not IDN
      expect(spell(host)).toBe(spell(typed.toLowerCase().normalize("NFC")));
    },
  );

  it("the punycode spelling of a disputed name is accepted on every runtime", () => {
    expect(parsePattern("https://xn--fa-hia.de")).toMatchObject({ ok: true });
    expect(parsePattern("https://xn--a-7p6m.com")).toMatchObject({ ok: true });
    expect(parseOrigin("https://xn--fa-hia.de")).toMatchObject({ kind: "origin" });
  });
});
