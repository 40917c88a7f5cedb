/**
 * The upstream of bench:proxy: a `ws` echo server (noServer behind node:http, no
 * compression, no client tracking), the application both proxies forward to. One process
 * serves both nginx and the gateway, so the upstream's own cost is the same for both.
 * Sends {type: "ready", port}.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import { serveRequests } from "./kit";

const wss = new WebSocketServer({
  noServer: true,
  clientTracking: false,
  perMessageDeflate: false,
  maxPayload: 100 * 1024 * 1024,
});
const server = http.createServer((_req, res) => res.writeHead(426).end());
server.on("upgrade", (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on("message", (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    ws.on("error", () => ws.terminate());
  });
});
server.listen(0, "127.0.0.1", () => {
  serveRequests({ stats: () => ({ cpu: process.cpuUsage() }) });
  process.send?.({ type: "ready", port: (server.address() as AddressInfo).port });
});
