/**
 * The policy document (SPEC §4, §10): its ONE definition. Everything else is derived from
 * `policyDocumentSchema`:
 *   - the TypeScript types (`PolicyDocument`, `PolicyLimits`, `CorsPolicy`, ...);
 *   - the structural validation of validatePolicy (types, enums, ranges, unknown fields),
 *     whose semantic checks (patterns, duplicates, credential rules) live in
 *     validate-policy.ts;
 *   - defaults: a field left out takes its default, which is always the restrictive side
 *     (`defaultPolicyDocument()` is the schema applied to `{}`);
 *   - the stored form: the allowlist lives in its own table (one row per entry), every
 *     other field in one JSON column (`policySettings` / `joinPolicyDocument`), so a new
 *     field needs no column;
 *   - diffs and conflict re-apply walk the document generically (`documentLeaves`), so a
 *     new field can never drop out of them;
 *   - the OpenAPI description (zod's JSON Schema) and the editor's labels (`.meta`).
 * Adding a field is one edit here (plus its semantic rule, if it has one).
 *
 * The parsed form is canonical: `note`/`expiresAt` are null when absent, expiries are in
 * `toISOString()` form. Patterns are normalised by normalizePolicyDocument (validate-policy.ts),
 * which needs the pattern parser.
 *
 * Browser-safe and pure (zod only).
 */
import { z } from "zod";
import { parseExpiry } from "./parse-expiry";

export const MAX_POLICY_ORIGINS = 100_000;
export const MAX_NOTE_LENGTH = 500;
export const MAX_SUBPROTOCOLS = 64;
export const MAX_SUBPROTOCOL_LENGTH = 128;
export const MAX_CORS_ENTRIES = 64;
/** Browsers cap Access-Control-Max-Age anyway (Chromium: 2 h); SPEC §4.6 allows one day. */
export const MAX_CORS_MAX_AGE_SECONDS = 86_400;

/** RFC 7230 `token`: a subprotocol name (RFC 6455), an HTTP method or header name. */
export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export const POLICY_LIMIT_RANGES = {
  // ws's own default maxPayload is 100 MiB; nothing sane needs more per message.
  maxMessageBytes: { min: 1, max: 104_857_600 },
  // One day; idle connections longer than that should reconnect.
  idleTimeoutSeconds: { min: 1, max: 86_400 },
  maxConnections: { min: 1, max: 1_000_000 },
  maxConnectionsPerIp: { min: 1, max: 1_000_000 },
  handshakesPerMinutePerIp: { min: 1, max: 1_000_000 },
  requestsPerMinutePerIp: { min: 1, max: 1_000_000 },
  // One year; a token meant to live longer is a password.
  maxTokenLifetimeSeconds: { min: 1, max: 31_536_000 },
} as const;

type LimitName = keyof typeof POLICY_LIMIT_RANGES;

const limit = (name: LimitName, fallback: number, title: string) =>
  z
    .number()
    .int()
    .min(POLICY_LIMIT_RANGES[name].min)
    .max(POLICY_LIMIT_RANGES[name].max)
    .default(fallback)
    .meta({ title });

const note = z
  .string()
  .max(MAX_NOTE_LENGTH)
  .nullish()
  // An empty or blank note is no note.
  .transform((v) => (typeof v === "string" && v.trim() !== "" ? v : null));

const EXPIRY_FORMAT = "must be an ISO 8601 date-time with a time zone, e.g. 2030-01-31T18:00:00Z";
const expiresAt = z
  .string({ error: EXPIRY_FORMAT })
  .refine((v) => parseExpiry(v) !== null, { message: EXPIRY_FORMAT })
  .nullish()
  .transform((v) => (typeof v === "string" ? new Date(parseExpiry(v) as number).toISOString() : null));

export const originEntrySchema = z
  .strictObject({
    pattern: z.string({ error: "required: a string such as https://app.example.com" }),
    note,
    expiresAt: expiresAt.meta({ description: "The entry stops matching at this instant (ISO 8601 with offset)." }),
  })
  .meta({ title: "Allowlist entry" });

const subprotocolName = z
  .string()
  .min(1, "must be a non-empty string")
  .max(MAX_SUBPROTOCOL_LENGTH, `longer than ${MAX_SUBPROTOCOL_LENGTH} characters`)
  .regex(HTTP_TOKEN, "is not a valid subprotocol name: letters, digits and !#$%&'*+-.^_`|~ only")
  .refine((v) => !v.toLowerCase().startsWith("bearer."), {
    message: '"bearer." is reserved: clients send their token as a bearer.<jwt> subprotocol',
  });

const httpToken = (what: string) =>
  z
    .string()
    .min(1, `must be a non-empty ${what}`)
    .max(128, `a ${what} is at most 128 characters`)
    .regex(HTTP_TOKEN, `is not a valid ${what}: letters, digits and !#$%&'*+-.^_\`|~ only`);

const uniqueList = <T extends z.ZodType<string>>(item: T, max: number, caseInsensitive = false) =>
  z
    .array(item)
    .max(max)
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((value, index) => {
        const key = caseInsensitive ? value.toLowerCase() : value;
        if (seen.has(key)) ctx.addIssue({ code: "custom", path: [index], message: `"${value}" is listed twice` });
        seen.add(key);
      });
    });

export const DEFAULT_CORS_METHODS = ["GET", "HEAD", "POST"];

export const corsPolicySchema = z
  .strictObject({
    methods: uniqueList(httpToken("method name"), MAX_CORS_ENTRIES)
      .default(() => [...DEFAULT_CORS_METHODS])
      .meta({ title: "Allowed methods", description: "Compared case-sensitively, as the Fetch standard says." }),
    allowHeaders: uniqueList(httpToken("header name"), MAX_CORS_ENTRIES, true)
      .default(() => [])
      .meta({ title: "Allowed request headers", description: "Compared case-insensitively." }),
    exposeHeaders: uniqueList(httpToken("header name"), MAX_CORS_ENTRIES, true)
      .default(() => [])
      .meta({ title: "Exposed response headers" }),
    maxAgeSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_CORS_MAX_AGE_SECONDS)
      .default(600)
      .meta({ title: "Preflight cache (seconds)" }),
  })
  .meta({ title: "CORS (HTTP and SSE)" });

export const policyLimitsSchema = z
  .strictObject({
    maxMessageBytes: limit("maxMessageBytes", 1_048_576, "Maximum message size (bytes)"),
    idleTimeoutSeconds: limit("idleTimeoutSeconds", 60, "Idle timeout (seconds)"),
    maxConnections: limit("maxConnections", 10_000, "Concurrent connections (tenant)"),
    maxConnectionsPerIp: limit("maxConnectionsPerIp", 100, "Concurrent connections per client address"),
    handshakesPerMinutePerIp: limit("handshakesPerMinutePerIp", 600, "Handshakes per minute per client address"),
    requestsPerMinutePerIp: limit("requestsPerMinutePerIp", 6000, "HTTP requests per minute per client address"),
    maxTokenLifetimeSeconds: z
      .number()
      .int()
      .min(POLICY_LIMIT_RANGES.maxTokenLifetimeSeconds.min)
      .max(POLICY_LIMIT_RANGES.maxTokenLifetimeSeconds.max)
      .nullable()
      .default(null)
      .meta({
        title: "Maximum token lifetime (seconds)",
        description: "When set, a handshake token must carry iat and live at most this long. null: no maximum.",
      }),
  })
  .meta({ title: "Limits" });

export const policyDocumentSchema = z
  .strictObject({
    mode: z
      .enum(["enforce", "report-only"])
      .default("enforce")
      .meta({ title: "Mode", description: "report-only lets everything through and logs what enforce would do." }),
    origins: z
      .array(originEntrySchema)
      .max(MAX_POLICY_ORIGINS)
      .default(() => [])
      .meta({ title: "Allowed origins" }),
    credentials: z
      .enum(["forbid", "allow"])
      .default("forbid")
      .meta({ title: "Ambient credentials", description: "Whether Cookie or Authorization may accompany a request." }),
    token: z.enum(["off", "required"]).default("off").meta({ title: "Handshake token" }),
    missingOrigin: z
      .enum(["reject", "allow"])
      .default("reject")
      .meta({ title: "Requests without Origin", description: "Non-browser clients; never covered by *." }),
    subprotocols: uniqueList(subprotocolName, MAX_SUBPROTOCOLS)
      .default(() => [])
      .meta({ title: "Subprotocols" }),
    limits: policyLimitsSchema.default(() => policyLimitsSchema.parse({})),
    cors: corsPolicySchema.default(() => corsPolicySchema.parse({})),
  })
  .meta({ title: "Policy document" });

/** A document as clients may write it (fields with defaults may be left out). */
export type PolicyDocumentInput = z.input<typeof policyDocumentSchema>;
/** The canonical document: every field present, notes/expiries null when unset. */
export type PolicyDocument = z.output<typeof policyDocumentSchema>;
export type PolicyOriginEntry = PolicyDocument["origins"][number];
export type PolicyLimits = PolicyDocument["limits"];
export type CorsPolicy = PolicyDocument["cors"];
export type PolicyMode = PolicyDocument["mode"];
/** An allowlist entry as written: note and expiresAt may be left out. */
export type PolicyOriginInput = z.input<typeof originEntrySchema>;
/**
 * What the engine compiles: a canonical document, or one whose entries leave note and
 * expiresAt out (tests and previews write them so). compilePolicy never trusts it blindly.
 */
export type CompilableDocument = Omit<PolicyDocument, "origins"> & { origins: readonly PolicyOriginInput[] };
/** Everything but the allowlist: what the policy row's JSON column holds. */
export type PolicySettings = Omit<PolicyDocument, "origins">;

/** A fresh document each call (callers mutate drafts in editors): the most restrictive useful policy. */
export function defaultPolicyDocument(): PolicyDocument {
  return policyDocumentSchema.parse({});
}

export const DEFAULT_LIMITS: Readonly<PolicyLimits> = Object.freeze(policyLimitsSchema.parse({}));

/**
 * Reads a document this system stored (a revision's JSON, the policy row's settings joined
 * with its allowlist). Older rows that predate a field get its default. Throws when the
 * data does not fit the schema: stored data is never guessed at.
 */
export function parsePolicyDocument(json: unknown): PolicyDocument {
  return policyDocumentSchema.parse(json);
}

const policySettingsSchema = policyDocumentSchema.omit({ origins: true });

/** The policy row's JSON column for a document (everything but the allowlist). */
export function policySettings(document: PolicyDocument): PolicySettings {
  const { origins: _origins, ...settings } = document;
  return settings;
}

/** The document from the policy row's JSON column and its allowlist rows (in order). */
export function joinPolicyDocument(settings: unknown, origins: readonly unknown[]): PolicyDocument {
  return { ...policySettingsSchema.parse(settings ?? {}), origins: z.array(originEntrySchema).parse(origins) };
}

/** One leaf of a document: a path such as `limits.maxConnections` and its value. */
export interface DocumentLeaf {
  path: string;
  value: unknown;
}

/**
 * Every leaf of a document except the allowlist (which diffs compare entry by entry),
 * walking nested objects: scalars and lists are leaves. Generic on purpose: a field added
 * to the schema is diffed and re-applied without anyone listing it.
 */
export function documentLeaves(document: PolicySettings | PolicyDocument): DocumentLeaf[] {
  const leaves: DocumentLeaf[] = [];
  const walk = (value: unknown, path: string) => {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      for (const [key, child] of Object.entries(value)) {
        if (path === "" && key === "origins") continue;
        walk(child, path === "" ? key : `${path}.${key}`);
      }
    } else {
      leaves.push({ path, value });
    }
  };
  walk(document, "");
  return leaves;
}

/** The value at a leaf path (`limits.maxConnections`), or undefined. */
export function leafValue(document: PolicySettings | PolicyDocument, path: string): unknown {
  let value: unknown = document;
  for (const key of path.split(".")) {
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The schema's title of a leaf path, for diffs and editors (`Idle timeout (seconds)`). */
export function fieldTitle(path: string): string {
  let schema: z.ZodType | undefined = policyDocumentSchema;
  for (const key of path.split(".")) {
    const inner = unwrap(schema);
    schema = inner instanceof z.ZodObject ? (inner.shape as Record<string, z.ZodType>)[key] : undefined;
    if (!schema) return path;
  }
  const title = schema.meta()?.title ?? unwrap(schema).meta()?.title;
  return typeof title === "string" ? title : path;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodDefault || current instanceof z.ZodNullable || current instanceof z.ZodOptional) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}
