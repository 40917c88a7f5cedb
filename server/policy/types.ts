/**
 * Shared shapes of the policy engine that are not the document itself (the document is
 * defined once, in document.ts).
 *
 * Browser-safe: no imports at all.
 */

/**
 * One line of a decision trace (the handshake tester and the dashboard show these).
 * Declared here, next to the document, because both decide-handshake.ts (which records
 * the steps) and explain-handshake.ts (which exports them) need it.
 */
export interface ExplainStep {
  /** `method` and `headers` are the CORS checks of HTTP requests (decide-cors.ts). */
  check: "origin" | "credentials" | "token" | "subprotocol" | "method" | "headers" | "mode";
  outcome: "pass" | "fail" | "skip" | "info";
  message: string;
}
