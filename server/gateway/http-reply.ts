/**
 * A complete answer the gateway gives itself (a refusal, a preflight, a forward-auth
 * decision), and the two ways of sending it: on a ServerResponse, or — for a request that
 * arrived as an upgrade (Caddy's forward_auth subrequest carries `Upgrade: websocket`) —
 * on the raw socket through abortHandshake, the gateway's one raw-response writer.
 *
 * Header names of the decision contract (SPEC §4.4, §5.1) are defined here once.
 */
import type { ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { abortHandshake, REASON_HEADER } from "./abort-handshake";

export { REASON_HEADER };
export const DECISION_HEADER = "X-OriginGate-Decision";
export const POLICY_VERSION_HEADER = "X-OriginGate-Policy-Version";

export interface Reply {
  status: number;
  /** Response headers, X-OriginGate-Reason included. */
  headers: Record<string, string>;
  /** A short text body ("" for none). */
  body: string;
}

/** Sends `reply` on `res` (no-store: decisions depend on the policy of the moment). */
export function sendReply(res: ServerResponse, reply: Reply): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { "Cache-Control": "no-store", ...reply.headers };
  if (reply.body !== "") headers["Content-Type"] = "text/plain; charset=utf-8";
  headers["Content-Length"] = String(Buffer.byteLength(reply.body));
  res.writeHead(reply.status, headers);
  res.end(reply.body);
}

/** Sends `reply` on a raw socket and closes it (`Connection: close`). */
export function sendReplyOnSocket(socket: Duplex, reply: Reply): void {
  const { [REASON_HEADER]: reason = "", ...headers } = reply.headers;
  abortHandshake(socket, reply.status, reason, reply.body.replace(/\n$/, ""), headers);
}
