/**
 * The canonical YAML form of a policy (server/policy-as-code/policy-yaml.ts):
 * - round trip, property-based over documents generated from the schema itself: the text
 *   parses back to the canonical document and prints to the same bytes, whatever the
 *   order the allowlist came in (pull → apply → pull is byte-identical);
 * - the shape is derived from the one definition (keys in schema order, every field);
 * - hostile or broken files are refused with a clear message and, where it has one, the
 *   line: duplicate keys, anchors/aliases (billion laughs), tags, other apiVersion/kind,
 *   oversize, non-mapping roots, several documents, unknown fields, engine errors.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { policyDocumentSchema } from "../../server/policy/document";
import {
  canonicalSpec,
  MAX_POLICY_FILE_BYTES,
  type PolicyFileResult,
  parsePolicyYaml,
  policyToYaml,
  withMetadataVersion,
} from "../../server/policy-as-code/policy-yaml";
import { validDocument } from "../helpers/document-arbitrary";

const NOW = new Date("2030-01-01T00:00:00Z");

function header(spec = "spec: {}\n", metadata = "metadata:\n  tenant: demo\n  version: 3\n") {
  return `apiVersion: origingate/v1\nkind: TenantPolicy\n${metadata}${spec}`;
}

function errorsOf(result: PolicyFileResult): string[] {
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.errors.map((e) => `${e.line ?? "-"}:${e.path}: ${e.message}`);
}

describe("canonical YAML round trip", () => {
  it("parses back to the canonical document and prints the same bytes (any allowlist order)", () => {
    fc.assert(
      fc.property(validDocument, fc.integer({ min: 1, max: 1_000_000 }), fc.nat(), (document, version, seed) => {
        const text = policyToYaml({ tenant: "demo-1", version, document });
        const parsed = parsePolicyYaml(text);
        if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
        expect(parsed.file).toEqual({ tenant: "demo-1", version, spec: canonicalSpec(document) });
        expect(policyToYaml({ tenant: "demo-1", version, document: parsed.file.spec })).toBe(text);
        // The server returns entries in first-saved order: any order prints the same file.
        const list = [...(document.origins ?? [])];
        const k = list.length ? seed % list.length : 0;
        const shuffled = [...list.slice(k), ...list.slice(0, k)].reverse();
        expect(policyToYaml({ tenant: "demo-1", version, document: { ...document, origins: shuffled } })).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it("notes that look like other YAML types stay strings", () => {
    const notes = [
      "null",
      "~",
      "yes",
      "no",
      "true",
      "1e3",
      "0x10",
      "*alias",
      "&anchor",
      "!tag",
      "- dash",
      "a: b",
      "#x",
      " lead",
      "tail ",
      "line\nbreak",
      'quote"s',
      "tab\there",
      "€ ünïcode",
      "\u2028sep",
    ];
    const document = { origins: notes.map((note, i) => ({ pattern: `https://n${i}.example.com`, note })) };
    const text = policyToYaml({ tenant: "demo", version: 1, document });
    const parsed = parsePolicyYaml(text);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    expect(parsed.file.spec.origins.map((o) => o.note)).toEqual(canonicalSpec(document).origins.map((o) => o.note));
    expect(text.split("\n").filter((l) => l.includes("note:"))).toHaveLength(notes.length); // one line per note
  });

  it("has the envelope and every field of the schema, in schema order, allowlist sorted by pattern", () => {
    const text = policyToYaml({
      tenant: "demo",
      version: 7,
      document: {
        origins: [{ pattern: "https://b.example.com" }, { pattern: "HTTPS://A.example.com:443", note: "web" }],
      },
    });
    expect(
      text.startsWith(
        "apiVersion: origingate/v1\nkind: TenantPolicy\nmetadata:\n  tenant: demo\n  version: 7\nspec:\n",
      ),
    ).toBe(true);
    const specKeys = [...text.matchAll(/^ {2}([a-zA-Z]+):/gm)]
      .map((m) => m[1])
      .filter((k) => k !== "tenant" && k !== "version");
    expect(specKeys).toEqual(Object.keys(policyDocumentSchema.shape));
    expect(text).toContain(
      "  origins:\n    - pattern: https://a.example.com\n      note: web\n      expiresAt: null\n    - pattern: https://b.example.com\n      note: null\n",
    );
    // `*` and `null` patterns are quoted: they must not read back as an alias or a null.
    const special = policyToYaml({
      tenant: "demo",
      version: 1,
      document: { origins: [{ pattern: "*" }, { pattern: "null" }] },
    });
    const parsed = parsePolicyYaml(special);
    expect(parsed.ok && parsed.file.spec.origins.map((o) => o.pattern)).toEqual(["*", "null"]);
  });

  it("withMetadataVersion changes that number and no other byte", () => {
    const text = `# our policy\n${header("spec:\n  mode: enforce   # keep\n")}`;
    const updated = withMetadataVersion(text, 12);
    expect(updated).toBe(text.replace("version: 3", "version: 12"));
    expect(withMetadataVersion("metadata: {}\n", 2)).toBeNull();
  });
});

describe("hostile and broken files are refused with a clear message", () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      "duplicate top-level key",
      header().replace("kind: TenantPolicy\n", "kind: TenantPolicy\nkind: TenantPolicy\n"),
      /3:: invalid YAML: Map keys must be unique/,
    ],
    [
      "duplicate key in spec",
      header("spec:\n  mode: enforce\n  mode: report-only\n"),
      /invalid YAML: Map keys must be unique/,
    ],
    [
      "duplicate key in an entry",
      header("spec:\n  origins:\n    - pattern: https://a.example.com\n      pattern: https://evil.example.net\n"),
      /Map keys must be unique/,
    ],
    [
      "billion laughs",
      `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n${header()}`,
      /anchors \(&a\) are not allowed/,
    ],
    ["an alias of a scalar", header(`spec:\n  mode: &m enforce\n  token: *m\n`), /aliases \(\*m\) are not allowed/],
    ["a merge key", header("base: &b {mode: enforce}\nspec:\n  <<: *b\n"), /anchors|aliases/],
    [
      "a custom tag",
      header("spec:\n  mode: !!js/function 'return 1'\n"),
      /tags \(tag:yaml.org,2002:js\/function\) are not allowed/,
    ],
    ["a local tag", header("spec:\n  mode: !shell enforce\n"), /tags \(!shell\) are not allowed/],
    ["an explicit standard tag", header("spec:\n  mode: !!str enforce\n"), /tags .* are not allowed/],
    ["YAML 1.1", `%YAML 1.1\n---\n${header()}`, /only YAML 1.2/],
    ["several documents", `${header()}---\n${header()}`, /multiple documents/],
    ["a sequence root", "- apiVersion: origingate/v1\n", /must be a mapping with apiVersion/],
    ["a scalar root", "hello\n", /must be a mapping with apiVersion/],
    ["an empty file", "", /must be a mapping with apiVersion/],
    [
      "unknown apiVersion",
      header().replace("origingate/v1", "origingate/v2"),
      /1:apiVersion: must be origingate\/v1 \(got "origingate\/v2"\)/,
    ],
    ["unknown kind", header().replace("TenantPolicy", "ClusterPolicy"), /kind: must be TenantPolicy/],
    ["no metadata.version", header("spec: {}\n", "metadata:\n  tenant: demo\n"), /metadata.version: required/],
    [
      "a bad tenant",
      header("spec: {}\n", "metadata:\n  tenant: ../etc\n  version: 1\n"),
      /metadata.tenant: 1-63 lowercase/,
    ],
    ["an unknown top-level field", header().replace("spec:", "status: {}\nspec:"), /status: unknown field/],
    ["spec.version", header("spec:\n  version: 3\n"), /spec.version: unknown field/],
    [
      "an unknown spec field (typo)",
      header("spec:\n  credential: allow\n"),
      /7:spec.credential: unknown field "credential"/,
    ],
    ["__proto__", header("spec:\n  __proto__:\n    mode: report-only\n"), /spec.__proto__: unknown field/],
    ["a spec that is a list", header("spec: []\n"), /spec: must be a mapping/],
    [
      "a refused pattern, with its line",
      header("spec:\n  origins:\n    - pattern: https://ok.example.com\n    - pattern: https://*.com\n"),
      /9:spec.origins\[1\].pattern: .*public suffix/,
    ],
    [
      "credentials: allow with *",
      header('spec:\n  credentials: allow\n  origins:\n    - pattern: "*"\n'),
      /spec.origins\[0\].pattern/,
    ],
    ["non-string keys", header("spec:\n  ? [a]\n  : 1\n"), /invalid YAML/],
    [
      "a timestamp-looking version",
      header("spec: {}\n", "metadata:\n  tenant: demo\n  version: 2030-01-01\n"),
      /metadata.version/,
    ],
  ];
  it.each(cases)("%s", (_name, text, expected) => {
    const messages = errorsOf(parsePolicyYaml(text, { now: NOW }));
    expect(messages.join("\n")).toMatch(expected);
  });

  it("refuses a file over the size limit before parsing it", () => {
    const text = header(`spec:\n  mode: enforce\n#${"x".repeat(MAX_POLICY_FILE_BYTES)}\n`);
    expect(errorsOf(parsePolicyYaml(text)).join()).toMatch(/a policy file is at most/);
  });

  it("reports warnings without refusing (expired entry, report-only)", () => {
    const result = parsePolicyYaml(
      header(
        "spec:\n  mode: report-only\n  origins:\n    - pattern: https://old.example.com\n      expiresAt: 2020-01-01T00:00:00Z\n",
      ),
      { now: NOW },
    );
    expect(result.ok).toBe(true);
    expect(result.warnings.map((w) => w.path)).toEqual(
      expect.arrayContaining(["spec.mode", "spec.origins[0].expiresAt"]),
    );
  });
});
