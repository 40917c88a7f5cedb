/**
 * A real upstream for tests and benchmarks: one HTTP server on 127.0.0.1 (port 0) that is at
 * once a `ws` WebSocket server (echo), an HTTP server (echoes what it received as JSON) and
 * a Server-Sent Events server (events written on command, optional heartbeats). It records
 * every request it sees, so a test can prove that a refused request never reached it.
 *
 * Routes (any prefix before them is ignored, so a gateway's base path works):
 *   .../sse            text/event-stream; `emit(data)` writes one event to every open stream
 *   .../slow           never answers (upstream timeout tests)
 *   .../cors-reflect   answers with its own permissive CORS headers (the gateway must drop them)
 *   .../bytes?n=N      streams N bytes in 64 KiB chunks, respecting backpressure
 *   anything else      200 JSON { method, url, headers, bodyBytes }
 * WebSocket upgrades on any path: echo.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  upgrade: boolean;
  at: number;
}

export interface Upstream {
  port: number;
  httpUrl: string;
  wsUrl: string;
  seen: SeenRequest[];
  /** Requests (and upgrades) whose URL contains `fragment`. */
  count(fragment: string): number;
  /** Open SSE streams. */
  streams: Set<http.ServerResponse>;
  /** Writes one event to every open SSE stream; resolves the number written. */
  emit(data: string, event?: string): number;
  /** Streams closed by their client (the gateway must close the upstream side when the client goes). */
  closedStreams: number;
  /** `/bytes`: bytes written so far, and whether the writer waits for 'drain' (backpressure). */
  bytes: { sent: number; blocked: boolean };
  close(): Promise<void>;
}

export async function startUpstream(options: { heartbeatMs?: number } = {}): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const streams = new Set<http.ServerResponse>();
  const state = { closedStreams: 0 };
  const bytes = { sent: 0, blocked: false };
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, upgrade: false, at: Date.now() });
    const url = req.url ?? "/";
    const path = url.split("?")[0] ?? "/";
    if (path.endsWith("/sse")) {
      res.writeHead(200, {
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-cache",
        // A careless upstream (the Gin SSE bug): any origin, with credentials.
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Credentials": "true",
      });
      res.write(": open\n\n");
      streams.add(res);
      let heartbeat: NodeJS.Timeout | undefined;
      if (options.heartbeatMs) heartbeat = setInterval(() => res.write(": heartbeat\n\n"), options.heartbeatMs);
      res.on("close", () => {
        clearInterval(heartbeat);
        if (streams.delete(res)) state.closedStreams += 1;
      });
      return;
    }
    if (path.endsWith("/slow")) return; // never answers
    if (path.endsWith("/bytes")) {
      const total = Number(new URL(url, "http://x").searchParams.get("n") ?? "0");
      res.writeHead(200, { "Content-Type": "application/octet-stream" });
      const chunk = Buffer.alloc(64 * 1024, 120);
      bytes.sent = 0;
      const pump = () => {
        bytes.blocked = false;
        while (bytes.sent < total) {
          const piece = chunk.subarray(0, Math.min(chunk.length, total - bytes.sent));
          bytes.sent += piece.length;
          if (!res.write(piece)) {
            bytes.blocked = true;
            res.once("drain", pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    let bodyBytes = 0;
    req.on("data", (chunk: Buffer) => {
      bodyBytes += chunk.length;
    });
    req.on("end", () => {
      const headers: Record<string, string> = { "Content-Type": "application/json", Vary: "Accept-Encoding" };
      if (path.endsWith("/cors-reflect")) {
        headers["Access-Control-Allow-Origin"] = String(req.headers.origin ?? "*");
        headers["Access-Control-Allow-Credentials"] = "true";
        headers["Access-Control-Expose-Headers"] = "x-secret";
      }
      res.writeHead(200, headers);
      res.end(JSON.stringify({ method: req.method, url, headers: req.headers, bodyBytes }));
    });
  });
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => protocols.values().next().value ?? false,
  });
  server.on("upgrade", (req, socket, head) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, upgrade: true, at: Date.now() });
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    seen,
    count: (fragment) => seen.filter((r) => r.url.includes(fragment)).length,
    streams,
    emit(data, event) {
      const frame = `${event ? `event: ${event}\n` : ""}${data
        .split("\n")
        .map((line) => `data: ${line}`)
        .join("\n")}\n\n`;
      for (const res of streams) res.write(frame);
      return streams.size;
    },
    get closedStreams() {
      return state.closedStreams;
    },
    bytes,
    close: async () => {
      for (const res of streams) res.destroy();
      for (const client of wss.clients) client.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Reads an SSE response body and resolves each `data:` event as it arrives (a minimal
 * client: enough to prove events are not buffered). `next()` waits for the next event.
 */
export function sseReader(res: http.IncomingMessage): { next(timeoutMs?: number): Promise<string>; comments: number } {
  const events: string[] = [];
  const waiters: Array<(event: string) => void> = [];
  const state = { comments: 0, buffer: "" };
  res.setEncoding("utf8");
  res.on("data", (chunk: string) => {
    state.buffer += chunk;
    for (let end = state.buffer.indexOf("\n\n"); end !== -1; end = state.buffer.indexOf("\n\n")) {
      const frame = state.buffer.slice(0, end);
      state.buffer = state.buffer.slice(end + 2);
      const data = frame
        .split("\n")
        .filter((line) => line.startsWith("data: "))
        .map((line) => line.slice(6));
      if (data.length === 0) {
        state.comments += 1;
        continue;
      }
      const event = data.join("\n");
      const waiter = waiters.shift();
      if (waiter) waiter(event);
      else events.push(event);
    }
  });
  return {
    next(timeoutMs = 5000) {
      const ready = events.shift();
      if (ready !== undefined) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no SSE event in time")), timeoutMs);
        waiters.push((event) => {
          clearTimeout(timer);
          resolve(event);
        });
      });
    },
    get comments() {
      return state.comments;
    },
  };
}
