/**
 * Plain-HTTP routing of the gateway's listeners: each listener has a table of routes (path,
 * methods, handler), and `routeRequest` is the one dispatcher. WebSocket upgrades are
 * routed separately (gateway.ts handleUpgrade): a route here only ever sees a request that
 * is not an upgrade.
 *
 * Matching: a path ending in `/` matches every path that starts with it, any other path
 * matches exactly; the first route that matches wins. No match: 404. A method the route
 * does not list: 405 with `Allow`. An HTTP/1.1 request without `Host`: 400 (RFC 9112 §3.2;
 * the listener leaves this check to us, `requireHostHeader: false` in gateway.ts, because
 * Node's own answer carries no reason). All three carry `X-OriginGate-Reason: bad_request`,
 * like every refusal of the gateway. A handler that throws fails closed: 503
 * `gateway_unavailable` (SPEC §4.4; the error is logged, never sent), or the connection is
 * cut if the response had started.
 */
import type http from "node:http";
import type { Logger } from "../log";
import { REASON_STATUS } from "../policy/reasons";
import { REASON_HEADER } from "./abort-handshake";

export interface HttpRoute {
  /** `/healthz` (exact) or `/admin/tester/` (prefix: ends with `/`). */
  path: string;
  /** Methods served; `any` leaves the method to the handler. */
  methods: readonly string[] | "any";
  handle(req: http.IncomingMessage, res: http.ServerResponse): void | Promise<void>;
}

/** The route of `path` in `routes`, or undefined. */
export function findRoute(routes: readonly HttpRoute[], path: string): HttpRoute | undefined {
  return routes.find((r) => (r.path.endsWith("/") ? path.startsWith(r.path) : path === r.path));
}

export async function routeRequest(
  routes: readonly HttpRoute[],
  req: http.IncomingMessage,
  res: http.ServerResponse,
  logger: Logger,
): Promise<void> {
  if (req.httpVersionMajor === 1 && req.httpVersionMinor === 1 && req.headers.host === undefined) {
    sendError(res, 400, "bad_request", { [REASON_HEADER]: "bad_request", Connection: "close" });
    return;
  }
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  const route = findRoute(routes, path);
  if (!route) {
    sendError(res, 404, "not_found", { [REASON_HEADER]: "bad_request" });
    return;
  }
  if (route.methods !== "any" && !route.methods.includes(req.method ?? "")) {
    res.writeHead(405, { Allow: route.methods.join(", "), [REASON_HEADER]: "bad_request" }).end();
    return;
  }
  try {
    await route.handle(req, res);
  } catch (error) {
    logger.error({ err: (error as Error).message, path: route.path }, "HTTP handler failed");
    if (res.headersSent) res.destroy();
    else
      sendError(res, REASON_STATUS.gateway_unavailable, "internal_error", { [REASON_HEADER]: "gateway_unavailable" });
  }
}

function sendError(res: http.ServerResponse, status: number, code: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers });
  res.end(JSON.stringify({ error: { code } }));
}
