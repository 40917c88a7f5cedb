/**
 * Shared shapes of the policy engine that are not the document itself (the document is
 * defined once, in document.ts).
 *
 * Browser-safe: no imports at all.
 */

/** The checks a decision trace names, in the order decisions run them. */
export const EXPLAIN_CHECKS = ["origin", "credentials", "token", "subprotocol", "method", "headers", "mode"] as const;

/**
 * One line of a decision trace (the handshake tester and the dashboard show these).
 * Declared here, next to the document, because both decide-handshake.ts (which records
 * the steps) and explain-handshake.ts (which exports them) need it.
 */
export interface ExplainStep {
  /** `method` and `headers` are the CORS checks of HTTP requests (decide-cors.ts). */
  check: (typeof EXPLAIN_CHECKS)[number];
  outcome: "pass" | "fail" | "skip" | "info";
  message: string;
}
