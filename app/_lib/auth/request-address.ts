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
import { readBodyLimited } from "@/app/_lib/api/read-body";
import { log } from "@/app/_lib/log";
import { config } from "@/server/config";
import { clientAddress } from "@/server/net/client-address";

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

/** Sign-in, second-factor and sign-out bodies are a few hundred bytes; a 413 beyond this. */
export const MAX_AUTH_BODY_BYTES = 64 * 1024;

/**
 * A copy of `request` whose CLIENT_ADDRESS_HEADER is the derived client address.
 *
 * Built from the URL, method, headers and the body's bytes, never as `new Request(request)`:
 * Next.js hands route handlers a request of its own class, and Node.js 24's `Request`
 * constructor refuses an input it did not create ("Cannot read private member #state"),
 * which made every sign-in a 500 there. The body is read bounded (413 beyond
 * MAX_AUTH_BODY_BYTES).
 */
export async function withClientAddress(request: Request): Promise<Request> {
  const headers = new Headers(request.headers);
  headers.set(CLIENT_ADDRESS_HEADER, requestClientAddress(request.headers));
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  const body = hasBody ? new Uint8Array(await readBodyLimited(request, MAX_AUTH_BODY_BYTES)) : undefined;
  return new Request(request.url, { method: request.method, headers, body, redirect: request.redirect });
}
