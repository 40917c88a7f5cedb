#!/usr/bin/env node
/**
 * The dashboard's HTTP server: Next.js (the production build, or dev mode with --dev) behind
 * a plain node:http server. It replaces `next start` / `next dev` for two things Next does
 * not do by itself:
 *
 *  - the client's address: a Next route handler never sees the TCP peer, and Next only fills
 *    X-Forwarded-For with it when the client sent none — so a client could name its own
 *    address and escape the sign-in limits. Every request gets `X-OriginGate-Peer: <socket
 *    remote address>`, overwriting whatever the client sent under that name; the dashboard
 *    derives the client address from it and X-Forwarded-For under the TRUST_PROXY rule
 *    (app/_lib/auth/request-address.ts, server/net/client-address.ts);
 *  - a path that is not valid percent-encoded UTF-8 (`/api/v1/tenants/%ff`) made Next's
 *    router fail with a 500; it is answered 400 here, in the API's error shape under /api/.
 *
 * Usage: node server/cli/next-server.mjs [--dev] [--port N]   (port default: $PORT or 3000)
 * Plain JavaScript with no project imports, so Next runs without a TypeScript loader.
 * SIGINT/SIGTERM close the listener and exit.
 */
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import next from "next";

/** Mirrored in app/_lib/auth/request-address.ts (a test keeps them equal). */
export const PEER_HEADER = "x-origingate-peer";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const args = process.argv.slice(2);
const dev = args.includes("--dev");
const portIndex = args.indexOf("--port");
const port = Number(portIndex >= 0 ? args[portIndex + 1] : (process.env.PORT ?? 3000));
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`next-server: bad port ${JSON.stringify(args[portIndex + 1] ?? process.env.PORT)}`);
  process.exit(2);
}

const app = next({ dev, dir: root, hostname: "localhost", port });
const handle = app.getRequestHandler();
await app.prepare();

/** True when the path part of `url` does not decode (bad percent-encoding or UTF-8). */
function undecodablePath(url) {
  try {
    decodeURIComponent((url ?? "/").split("?")[0]);
    return false;
  } catch {
    return true;
  }
}

const server = http.createServer((req, res) => {
  if (undecodablePath(req.url)) {
    const api = (req.url ?? "").startsWith("/api/");
    const message = "The path is not valid percent-encoded UTF-8";
    res.writeHead(400, {
      "Content-Type": api ? "application/json" : "text/plain; charset=utf-8",
      "Cache-Control": "no-store",
    });
    res.end(api ? JSON.stringify({ error: { code: "bad_request", message } }) : `${message}\n`);
    return;
  }
  req.headers[PEER_HEADER] = req.socket.remoteAddress ?? "unknown";
  void handle(req, res);
});
// Dev mode's hot reload runs over WebSocket upgrades.
if (dev) server.on("upgrade", app.getUpgradeHandler());
server.listen(port, () => console.log(`[dashboard] ready on port ${port}${dev ? " (dev)" : ""}`));

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    // Open requests get a moment to finish; then the process goes regardless.
    setTimeout(() => process.exit(0), 5000).unref();
  });
}
