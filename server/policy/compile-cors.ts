/**
 * compileCors: the policy's `cors` section (SPEC §4.6) in the form decideCors consults on
 * every HTTP request — sets for the lookups, the response header values joined once.
 * Called by compilePolicy, once per policy version.
 *
 * Rules (jub0bs/cors is the model):
 * - methods are compared case-sensitively (Fetch: only the six standard methods are
 *   upper-cased by browsers, and normalizePolicyDocument stores those upper-case);
 * - request header names are compared case-insensitively (stored lower-case);
 * - `*` in `methods` or `allowHeaders` is a wildcard only while credentials are forbidden
 *   (Fetch ignores `*` on credentialed requests; validation refuses the combination, and
 *   here it then matches nothing: fail closed). A `*` in `allowHeaders` never covers
 *   `Authorization`, which must be named (Fetch: "Authorization" is not covered by `*`);
 * - `Access-Control-Max-Age` is clamped to 0..86400.
 *
 * Fail closed on a document that was not validated: a list that is not an array of
 * strings contributes nothing (so nothing is allowed), an unusable max age becomes 0.
 *
 * Browser-safe, pure.
 */
import type { CompilableDocument } from "./document";

/** SPEC §4.6: Access-Control-Max-Age is at most one day. */
export const MAX_CORS_AGE = 86_400;
const WILDCARD = "*";

export interface CompiledCors {
  /** Allowed methods, exact (case-sensitive) names. */
  methods: ReadonlySet<string>;
  /** `*` listed and credentials forbidden: any method. */
  anyMethod: boolean;
  /** Allowed request header names, lower-case. */
  allowHeaders: ReadonlySet<string>;
  /** `*` listed and credentials forbidden: any header except Authorization. */
  anyHeader: boolean;
  /** Access-Control-Allow-Methods of a successful preflight (the policy's list), or null. */
  allowMethodsValue: string | null;
  /** Access-Control-Allow-Headers of a successful preflight (the policy's list), or null. */
  allowHeadersValue: string | null;
  /** Access-Control-Expose-Headers of an allowed actual request, or null. */
  exposeHeadersValue: string | null;
  /** Access-Control-Max-Age of a successful preflight. */
  maxAgeValue: string;
}

export function compileCors(document: CompilableDocument, forbidCredentials: boolean): CompiledCors {
  const section: unknown = document?.cors;
  const cors = (typeof section === "object" && section !== null ? section : {}) as Record<string, unknown>;
  const methods = strings(cors.methods);
  const allowHeaders = strings(cors.allowHeaders).map((name) => name.toLowerCase());
  const exposeHeaders = strings(cors.exposeHeaders).map((name) => name.toLowerCase());
  const anyMethod = forbidCredentials && methods.includes(WILDCARD);
  const anyHeader = forbidCredentials && allowHeaders.includes(WILDCARD);
  const namedMethods = methods.filter((name) => name !== WILDCARD);
  const namedHeaders = allowHeaders.filter((name) => name !== WILDCARD);
  const exposed = exposeHeaders.filter((name) => name !== WILDCARD || forbidCredentials);
  const maxAge =
    typeof cors.maxAgeSeconds === "number" && Number.isInteger(cors.maxAgeSeconds) ? cors.maxAgeSeconds : 0;
  return {
    methods: new Set(namedMethods),
    anyMethod,
    allowHeaders: new Set(namedHeaders),
    anyHeader,
    allowMethodsValue: joined(anyMethod ? [WILDCARD] : namedMethods),
    // `*` does not cover Authorization: when it is named as well, it is listed next to `*`.
    allowHeadersValue: joined(anyHeader ? [WILDCARD, ...namedHeaders] : namedHeaders),
    exposeHeadersValue: joined(exposed),
    maxAgeValue: String(Math.min(MAX_CORS_AGE, Math.max(0, maxAge))),
  };
}

function strings(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((item): item is string => typeof item === "string" && item !== "");
}

function joined(names: readonly string[]): string | null {
  return names.length === 0 ? null : names.join(", ");
}
