/**
 * The tester's network failures: a stable code and a sentence for each, shared by the
 * WebSocket tester (run-handshake.ts) and the CORS tester (run-http.ts).
 */

export const HANDSHAKE_ERROR_CODES = [
  "timeout",
  "dns_failed",
  "connection_refused",
  "connection_reset",
  "tls_failed",
  "response_too_large",
  "invalid_response",
  "invalid_upgrade",
  "network_error",
] as const;
export type HandshakeErrorCode = (typeof HANDSHAKE_ERROR_CODES)[number];

/** A network error in the tester's terms (shared with the CORS tester, run-http.ts). */
export function classify(
  error: NodeJS.ErrnoException,
  maxHeaderBytes: number,
): { code: HandshakeErrorCode; message: string } {
  const code = error.code ?? "";
  if (code === "HPE_HEADER_OVERFLOW") {
    return {
      code: "response_too_large",
      message: `the response head is larger than ${maxHeaderBytes} bytes; reading stopped`,
    };
  }
  if (code.startsWith("HPE_")) return { code: "invalid_response", message: `not a valid HTTP response (${code})` };
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_FAIL") {
    return { code: "dns_failed", message: `the host name could not be resolved (${code})` };
  }
  if (code === "ECONNREFUSED")
    return { code: "connection_refused", message: "the connection was refused (nothing listens there)" };
  if (code === "ECONNRESET" || code === "EPIPE") {
    return { code: "connection_reset", message: "the server closed the connection without an answer" };
  }
  if (
    code.startsWith("ERR_TLS") ||
    code.startsWith("ERR_SSL") ||
    code.includes("CERT") ||
    code === "DEPTH_ZERO_SELF_SIGNED_CERT" ||
    code === "UNABLE_TO_VERIFY_LEAF_SIGNATURE" ||
    code === "SELF_SIGNED_CERT_IN_CHAIN"
  ) {
    return { code: "tls_failed", message: `TLS failed: ${error.message}` };
  }
  return { code: "network_error", message: code ? `${code}: ${error.message}` : error.message };
}
