/**
 * The browser-safe half of the policy engine, for the dashboard's client components
 * (validation while typing, pattern previews, scan variant lists).
 *
 * Why a second entry point: `index.ts` also exports `decideHandshake`/`explainHandshake`,
 * which verify tokens with `node:crypto` (token.ts) and cannot be bundled for the browser.
 * Everything re-exported here imports only `tldts`, `zod` and the WHATWG `URL` global; a unit
 * test (tests/unit/policy-purity.test.ts) walks this file's import graph to keep it so.
 */
export { type BypassVariant, bypassVariants } from "./bypass-variants";
export { type ClosestPattern, type ClosestPatternRisk, closestToOrigin } from "./closest-pattern";
export { type CompiledCors, compileCors, MAX_CORS_AGE } from "./compile-cors";
export {
  type CompiledEntry,
  type CompiledPolicy,
  type CompiledSettings,
  type CompileOptions,
  compilePolicy,
  type SkippedEntry,
} from "./compile-policy";
export {
  ACAC,
  ACAH,
  ACAM,
  ACAO,
  ACEH,
  ACMA,
  CORS_RESPONSE_HEADERS,
  type CorsDecision,
  type CorsExplanation,
  type CorsHeaders,
  type CorsRequest,
  decideCors,
  explainCors,
  FORWARD_STATUS,
  isCorsPreflight,
  PREFLIGHT_OK_STATUS,
  VARY,
  VARY_ACTUAL,
  VARY_PREFLIGHT,
} from "./decide-cors";
export {
  type CompilableDocument,
  type CorsPolicy,
  DEFAULT_LIMITS,
  type DocumentLeaf,
  defaultPolicyDocument,
  documentLeaves,
  fieldTitle,
  HTTP_TOKEN,
  joinPolicyDocument,
  leafValue,
  MAX_NOTE_LENGTH,
  MAX_POLICY_ORIGINS,
  MAX_SUBPROTOCOL_LENGTH,
  MAX_SUBPROTOCOLS,
  POLICY_LIMIT_RANGES,
  type PolicyDocument,
  type PolicyDocumentInput,
  type PolicyLimits,
  type PolicyMode,
  type PolicyOriginEntry,
  type PolicyOriginInput,
  type PolicySettings,
  parsePolicyDocument,
  policyDocumentSchema,
  policySettings,
} from "./document";
export { parseExpiry } from "./parse-expiry";
export { type ParsedOrigin, parseOrigin } from "./parse-origin";
export { type ParsedPattern, type PatternResult, parsePattern } from "./parse-pattern";
export { REASON_DESCRIPTIONS, REASON_STATUS, REASONS, type Reason } from "./reasons";
export type { ExplainStep } from "./types";
export { normalizePolicyDocument, type PolicyIssue, validatePolicy } from "./validate-policy";
