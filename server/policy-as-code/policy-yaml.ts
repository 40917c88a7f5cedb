/**
 * The canonical YAML form of a tenant's policy (SPEC §7, §10 "Policy as code"):
 *
 *   apiVersion: origingate/v1
 *   kind: TenantPolicy
 *   metadata:
 *     tenant: <slug>
 *     version: <the policy version this file was pulled at>
 *   spec: <the policy document>
 *
 * `spec` is derived from the document's one definition (server/policy/document.ts), never
 * from a field list of its own: it is `normalizePolicyDocument` of the document (every
 * field present, defaults filled in, patterns and CORS names normalised, keys in schema
 * order) with the allowlist sorted by pattern. The server keeps entries in the order they
 * were first saved, which depends on history; sorting makes the file a function of the
 * policy alone, so pull → apply → pull is byte-identical apart from `metadata.version`.
 * Other lists keep their order: the server stores them as written, so they round-trip.
 *
 * Reading is strict, because policy files come from pull requests: at most
 * MAX_POLICY_FILE_BYTES; YAML 1.2 core schema only (no merge keys, no timestamps, no
 * custom or explicit tags, no anchors or aliases — so no "billion laughs"); duplicate keys,
 * non-string keys, several documents, a root that is not a mapping, an unknown
 * `apiVersion`/`kind`/field are errors. Then `spec` is checked by validatePolicy, the
 * engine's own rules. Every problem is reported with its path and, where the file has it,
 * its line and column.
 *
 * Pure (the `yaml` package, zod and the engine; no I/O): ctl reads and writes the files.
 */
import { isMap, isScalar, LineCounter, type Node, parseDocument, stringify, visit } from "yaml";
import { z } from "zod";
import type { PolicyDocument } from "../policy/document";
import { normalizePolicyDocument, validatePolicy } from "../policy/validate-policy";
import { slugSchema } from "../tenant-slug";

export const POLICY_API_VERSION = "origingate/v1";
export const POLICY_KIND = "TenantPolicy";
/**
 * Far above a real allowlist in this form (50,000 entries with notes take about 6 MiB),
 * small enough that a hostile file cannot make the parser hold gigabytes.
 */
export const MAX_POLICY_FILE_BYTES = 16 * 1024 * 1024;

/** A policy file as read: the tenant, the version it was pulled at, its canonical spec. */
export interface PolicyFile {
  tenant: string;
  version: number;
  /** Canonical (see canonicalSpec): compare it with the server's document. */
  spec: PolicyDocument;
}

export interface PolicyFileIssue {
  /** `metadata.tenant`, `spec.origins[3].pattern`, or "" for the file as a whole. */
  path: string;
  message: string;
  /** 1-based, when the problem has a place in the file. */
  line?: number;
  col?: number;
}

export type PolicyFileResult =
  | { ok: true; file: PolicyFile; warnings: PolicyFileIssue[] }
  | { ok: false; errors: PolicyFileIssue[]; warnings: PolicyFileIssue[] };

/** The document as a policy file's `spec`: normalised, allowlist sorted by pattern. */
export function canonicalSpec(document: unknown): PolicyDocument {
  const normalized = normalizePolicyDocument(document);
  return {
    ...normalized,
    // Code-unit order, not localeCompare: the same bytes on every machine.
    origins: [...normalized.origins].sort((a, b) => (a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0)),
  };
}

/** The canonical YAML text of a tenant's policy at a version. */
export function policyToYaml(options: { tenant: string; version: number; document: unknown }): string {
  const file = {
    apiVersion: POLICY_API_VERSION,
    kind: POLICY_KIND,
    metadata: { tenant: slugSchema.parse(options.tenant), version: options.version },
    spec: canonicalSpec(options.document),
  };
  return stringify(file, {
    version: "1.2",
    schema: "core",
    // Quote what a YAML 1.1 reader (yq, PyYAML, Ruby) would read as something else (`yes`,
    // `on`, timestamps, `0777`): the file means the same to every tool in a pipeline.
    compat: "yaml-1.1",
    // Shared objects must never become anchors and aliases (the reader refuses them).
    aliasDuplicateObjects: false,
    indent: 2,
    indentSeq: true,
    // One line per value: no folding of long notes, no block scalars; anything that needs
    // escaping is double-quoted (the `yaml` package decides, deterministically).
    lineWidth: 0,
    minContentWidth: 0,
    blockQuote: false,
    nullStr: "null",
  });
}

const metadataSchema = z.strictObject({
  tenant: slugSchema,
  version: z
    .number({ error: "required: the policy version the file was pulled at (policy:pull writes it)" })
    .int("must be a whole number")
    .min(1, "must be at least 1")
    .max(2_147_483_647, "is too large"),
});

const envelopeSchema = z.strictObject({
  apiVersion: z.unknown(),
  kind: z.unknown(),
  metadata: metadataSchema,
  spec: z.record(z.string(), z.unknown(), { error: "must be a mapping (the policy document)" }),
});

/**
 * Reads a policy file: strict YAML, the envelope, then the engine's validation of `spec`.
 * `now` lets validatePolicy warn about entries that have already expired.
 */
export function parsePolicyYaml(text: string, options: { now?: Date } = {}): PolicyFileResult {
  const fail = (errors: PolicyFileIssue[]): PolicyFileResult => ({ ok: false, errors, warnings: [] });
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_POLICY_FILE_BYTES) {
    return fail([
      { path: "", message: `the file is ${bytes} bytes; a policy file is at most ${MAX_POLICY_FILE_BYTES}` },
    ]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    version: "1.2",
    schema: "core",
    merge: false,
    resolveKnownTags: false,
    customTags: [],
    uniqueKeys: true,
    stringKeys: true,
    strict: true,
    prettyErrors: false,
    // "error": print nothing, keep every error ("silent" would also drop MULTIPLE_DOCS).
    logLevel: "error",
    lineCounter,
  });
  const at = (offset: number | undefined) => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, col };
  };
  const syntax: PolicyFileIssue[] = [...doc.errors, ...doc.warnings].map((e) => ({
    path: "",
    message: `invalid YAML: ${e.message.split("\n")[0]}`,
    ...at(e.pos[0]),
  }));
  if (doc.directives?.yaml.explicit && doc.directives.yaml.version !== "1.2") {
    syntax.push({ path: "", message: `%YAML ${doc.directives.yaml.version}: only YAML 1.2 is read` });
  }
  // Anchors, aliases and tags never appear in a canonical file; refusing them outright is
  // simpler to trust than limits on how far they may expand.
  visit(doc, {
    Alias(_key, node) {
      syntax.push({
        path: "",
        message: `aliases (*${node.source}) are not allowed in a policy file`,
        ...at(node.range?.[0]),
      });
    },
    Node(_key, node) {
      if (node.anchor) {
        syntax.push({
          path: "",
          message: `anchors (&${node.anchor}) are not allowed in a policy file`,
          ...at(node.range?.[0]),
        });
      }
      if (node.tag) {
        syntax.push({
          path: "",
          message: `tags (${node.tag}) are not allowed in a policy file`,
          ...at(node.range?.[0]),
        });
      }
    },
  });
  if (syntax.length > 0) return fail(syntax);
  if (!isMap(doc.contents)) {
    return fail([
      { path: "", message: "the file must be a mapping with apiVersion, kind, metadata and spec", ...at(0) },
    ]);
  }

  const root: unknown = doc.toJS({ maxAliasCount: 0 });
  const place = (path: readonly (string | number)[]) => at(nodeAt(doc.contents, path)?.range?.[0]);
  const errors: PolicyFileIssue[] = [];
  const rootRecord = root as Record<string, unknown>;
  if (rootRecord.apiVersion !== POLICY_API_VERSION) {
    errors.push({
      path: "apiVersion",
      message: `must be ${POLICY_API_VERSION} (got ${JSON.stringify(rootRecord.apiVersion) ?? "nothing"})`,
      ...place(["apiVersion"]),
    });
  }
  if (rootRecord.kind !== POLICY_KIND) {
    errors.push({
      path: "kind",
      message: `must be ${POLICY_KIND} (got ${JSON.stringify(rootRecord.kind) ?? "nothing"})`,
      ...place(["kind"]),
    });
  }
  const envelope = envelopeSchema.safeParse(root);
  if (!envelope.success) {
    for (const issue of envelope.error.issues) {
      const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) {
          errors.push({ path: joinPath([...path, key]), message: "unknown field", ...place([...path, key]) });
        }
      } else {
        const missing = issue.code === "invalid_type" && valueAt(root, path) === undefined;
        errors.push({
          path: joinPath(path),
          message: missing && !issue.message.startsWith("required") ? "required" : issue.message,
          ...place(path),
        });
      }
    }
  }
  const spec = rootRecord.spec;
  if (spec !== null && typeof spec === "object" && Object.hasOwn(spec, "version")) {
    errors.push({
      path: "spec.version",
      message: "unknown field (the version a file was pulled at is metadata.version)",
      ...place(["spec", "version"]),
    });
  }
  const issues =
    spec !== null && typeof spec === "object" && !Array.isArray(spec) ? validatePolicy(spec, options.now) : [];
  const found = (severity: "error" | "warning") =>
    issues
      .filter((i) => i.severity === severity)
      .map((i) => {
        const path = i.path === "" ? "spec" : `spec.${i.path}`;
        return { path, message: i.message, ...place(splitPath(path)) };
      });
  errors.push(...found("error"));
  const warnings = found("warning");
  if (errors.length > 0 || !envelope.success) return { ok: false, errors, warnings };
  return {
    ok: true,
    file: { tenant: envelope.data.metadata.tenant, version: envelope.data.metadata.version, spec: canonicalSpec(spec) },
    warnings,
  };
}

/**
 * The text with `metadata.version` replaced and every other byte kept (comments,
 * formatting): how ctl records the version an apply produced in the file it applied.
 * Null when the file has no plain `metadata.version` number to replace.
 */
export function withMetadataVersion(text: string, version: number): string | null {
  const doc = parseDocument(text, { version: "1.2", schema: "core", logLevel: "error" });
  if (doc.errors.length > 0) return null;
  const node = nodeAt(doc.contents, ["metadata", "version"]);
  if (!isScalar(node) || typeof node.value !== "number" || !node.range) return null;
  const [start, valueEnd] = node.range;
  return `${text.slice(0, start)}${version}${text.slice(valueEnd)}`;
}

/** The parsed node at a path (map keys and sequence indexes), or the deepest one that exists. */
function nodeAt(root: unknown, path: readonly (string | number)[]): Node | undefined {
  let node = root as Node | undefined;
  for (const key of path) {
    const child = (node as { get?: (k: unknown, keepScalar: boolean) => unknown } | undefined)?.get?.(key, true);
    if (child === undefined || child === null || typeof child !== "object") return node;
    node = child as Node;
  }
  return node;
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/** `spec.origins[3].pattern` → ["spec", "origins", 3, "pattern"]. */
function splitPath(path: string): Array<string | number> {
  const parts: Array<string | number> = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    parts.push(match[2] !== undefined ? Number(match[2]) : (match[1] as string));
  }
  return parts;
}

function joinPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const key of path) {
    if (typeof key === "number") text += `[${key}]`;
    else text += text === "" ? String(key) : `.${String(key)}`;
  }
  return text;
}
