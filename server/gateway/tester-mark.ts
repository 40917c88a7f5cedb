/**
 * Telling the tester's own traffic apart from real clients' (audit `via = 'tester'`), so
 * that a scan of 500 variants does not fill the audit overview's statistics, "top
 * rejected" or the alerts (they are left out by default; the overview can show them).
 *
 * The testers run inside the gateway process and, for a tenant of this gateway, connect to
 * this very process over loopback: the handshake tester (server/gateway/handshake.ts checks
 * the mark) and the CORS tester (server/gateway/http-proxy.ts). They mark those requests
 * with a header carrying a random value made once per process: only code in this process
 * knows it, so a client cannot hide its own traffic by sending the header (a wrong or absent
 * value is an ordinary request, counted like any other — the safe side). The mark is never
 * sent to registered endpoints (other servers); the gateway never forwards client headers to
 * upstreams on the WebSocket path and drops every `X-OriginGate-*` header on the HTTP path,
 * so it does not leave the process's own loopback connection.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const TESTER_MARK_HEADER = "x-origingate-tester";

const MARK = randomBytes(24).toString("base64url");
const MARK_BYTES = Buffer.from(MARK);

/** The header the tester adds to handshakes against this gateway's own tenants. */
export function testerMarkHeaders(): Record<string, string> {
  return { [TESTER_MARK_HEADER]: MARK };
}

/** True when the request carries this process's tester mark (exactly one line, the exact value). */
export function isTesterRequest(req: IncomingMessage): boolean {
  const value = req.headers[TESTER_MARK_HEADER];
  if (typeof value !== "string") return false;
  const presented = Buffer.from(value);
  return presented.length === MARK_BYTES.length && timingSafeEqual(presented, MARK_BYTES);
}
