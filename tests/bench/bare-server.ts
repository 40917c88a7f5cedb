/**
 * The baseline of the gateway benchmarks: a bare `ws` server as the ws README builds one
 * behind `node:http` (noServer + the `upgrade` event) that accepts every handshake and
 * echoes messages. Same ws options as the gateway (no compression, no client tracking).
 *
 * For a like-for-like refusal figure it refuses exactly one origin (REFUSED_ORIGIN) the
 * way ws's own `verifyClient` does (ws lib/websocket-server.js `abortHandshake`: a 403
 * written on the raw socket, then closed); every other handshake is accepted.
 *
 * (The bench passes the same origin; this file is a process entry, so nothing is exported.)
 * Sends {type: "ready", port}; answers "memory" (after GC, needs --expose-gc) and "stats".
 */
import http from "node:http";
import { writeHeapSnapshot } from "node:v8";
import { WebSocketServer } from "ws";
import { memoryAfterGc, serveRequests } from "./kit";

const REFUSED_ORIGIN = "https://refused.example";

const wss = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false });
let open = 0;
const server = http.createServer((_req, res) => {
  res.writeHead(404).end();
});
server.on("upgrade", (req, socket, head) => {
  socket.on("error", () => socket.destroy());
  if (req.headers.origin === REFUSED_ORIGIN) {
    socket.once("finish", () => socket.destroy());
    socket.end(
      "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\nForbidden",
    );
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    open++;
    ws.on("message", (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    ws.on("error", () => ws.terminate());
    ws.once("close", () => {
      open--;
    });
  });
});

await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const address = server.address();
const port = typeof address === "object" && address ? address.port : 0;

serveRequests({
  memory: () => memoryAfterGc(),
  /** Diagnosis: writes a heap snapshot into `dir`. */
  heapSnapshot: (m) => ({ file: writeHeapSnapshot(`${m.dir}/bare-${Date.now()}.heapsnapshot`) }),
  stats: () => ({ cpu: process.cpuUsage(), connections: open }),
});
process.on("SIGTERM", () => process.exit(0));
process.send?.({ type: "ready", port });
