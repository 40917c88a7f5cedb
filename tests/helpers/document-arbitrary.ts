/**
 * fast-check arbitraries for valid policy documents, derived from the document's own
 * schema (zod's JSON Schema of server/policy/document.ts): every field the schema has is
 * generated, so a field added to the schema is exercised by the round-trip properties
 * without anyone listing it here. Only the allowlist has a hand-written generator (its
 * rules are the pattern parser's, which JSON Schema cannot express).
 */
import fc from "fast-check";
import { z } from "zod";
import { type PolicyDocumentInput, policyDocumentSchema } from "../../server/policy/document";

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
}

/**
 * Names that satisfy every list of names the document holds: RFC 7230 tokens, never a
 * reserved `bearer.` subprotocol, never a method or header browsers forbid, unique even
 * case-insensitively, already in canonical (lower) case.
 */
const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/).map((s) => `x-${s}`);

function fromSchema(schema: JsonSchema, path: string): fc.Arbitrary<unknown> {
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((s) => fromSchema(s, path)));
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case "null":
      return fc.constant(null);
    case "integer":
      return fc.oneof(
        fc.constantFrom(schema.minimum ?? 0, schema.maximum ?? 1_000_000),
        fc.integer({ min: schema.minimum ?? 0, max: schema.maximum ?? 1_000_000 }),
      );
    case "array":
      if (schema.items?.type !== "string") throw new Error(`${path}: no generator for arrays of ${schema.items?.type}`);
      return fc.uniqueArray(name, { maxLength: Math.min(4, schema.maxItems ?? 4) });
    case "object": {
      const fields: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, child] of Object.entries(schema.properties ?? {})) {
        if (path === "" && key === "origins") continue;
        fields[key] = fromSchema(child, path === "" ? key : `${path}.${key}`);
      }
      return fc.record(fields);
    }
    default:
      throw new Error(`${path}: no generator for JSON Schema type ${JSON.stringify(schema.type)}`);
  }
}

const label = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/);
const scheme = fc.constantFrom("https", "http", "wss", "capacitor");
const host = fc.array(label, { minLength: 1, maxLength: 3 }).map((labels) => [...labels, "example", "com"].join("."));
const pattern = fc.oneof(
  fc.tuple(scheme, host).map(([s, h]) => `${s}://${h}`),
  fc.tuple(scheme, host, fc.integer({ min: 1, max: 65535 })).map(([s, h, p]) => `${s}://${h}:${p}`),
  fc.tuple(scheme, host).map(([s, h]) => `${s}://*.${h}`),
  host.map((h) => `http://${h.split(".")[0]}.localhost:*`),
);
const note = fc.option(
  fc.string({ maxLength: 40 }).filter((n) => n.trim() !== ""),
  { nil: null },
);
const expiresAt = fc.option(
  fc.integer({ min: Date.UTC(2031, 0, 1), max: Date.UTC(2099, 0, 1) }).map((ms) => new Date(ms).toISOString()),
  { nil: null },
);
const origins = fc.uniqueArray(fc.record({ pattern, note, expiresAt }), {
  selector: (entry) => entry.pattern,
  maxLength: 6,
});

/**
 * A valid document, whatever the switches say: the allowlist generator never produces `*`,
 * `null` or a wildcard over a public suffix, the only entries `credentials: allow` refuses.
 */
export const validDocument: fc.Arbitrary<PolicyDocumentInput> = fc
  .tuple(
    fromSchema(z.toJSONSchema(policyDocumentSchema, { io: "input" }) as JsonSchema, "") as fc.Arbitrary<
      Record<string, unknown>
    >,
    origins,
  )
  .map(([settings, entries]) => ({ ...settings, origins: entries }) as PolicyDocumentInput);
