/**
 * The client address of a dashboard request, by the one rule of the product
 * (server/net/client-address.ts, `TRUST_PROXY`): the TCP peer, or — behind trusted
 * proxies — the right-most untrusted X-Forwarded-For entry. Never the left-most entry,
 * which the client writes itself.
 *
 * A Next route handler cannot see the TCP peer, so the dashboard's server
 * (server/cli/next-server.mjs) stamps it on every request as `X-OriginGate-Peer`,
 * overwriting any value the client sent. Without that server (a bare `next start`) the peer
 * is unknown and every client shares one address: limits then apply to everyone together
 * (fail closed), and a warning is logged once. Server-only.
 */
import "server-only";
import { clientAddress } from "../../../server/net/client-address";
import { config } from "../config";
import { log } from "../log";

/** Stamped by server/cli/next-server.mjs (PEER_HEADER there; a test keeps them equal). */
export const PEER_HEADER = "x-origingate-peer";
/**
 * The address as derived here, set by the auth route on the request it hands to Better Auth
 * (whose rate limiter and session records read it through `ipAddressHeaders`); any value a
 * client sent under this name is replaced.
 */
export const CLIENT_ADDRESS_HEADER = "x-origingate-client";

let warned = false;

export function requestClientAddress(headers: Headers): string {
  const peer = headers.get(PEER_HEADER);
  if (peer === null && !warned) {
    warned = true;
    log().warn(
      "requests carry no peer address: run the dashboard with server/cli/next-server.mjs (npm start / npm run dashboard), not a bare `next start`; sign-in limits now treat all clients as one",
    );
  }
  return clientAddress(peer ?? "unknown", headers.get("x-forwarded-for") ?? undefined, config().TRUST_PROXY);
}

/** A copy of `request` whose CLIENT_ADDRESS_HEADER is the derived client address. */
export function withClientAddress(request: Request): Request {
  const headers = new Headers(request.headers);
  headers.set(CLIENT_ADDRESS_HEADER, requestClientAddress(request.headers));
  return new Request(request, { headers });
}
