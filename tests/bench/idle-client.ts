/**
 * Client process of bench:connections: holds many idle WebSocket connections (ws client,
 * so pings are answered and the gateway's heartbeat keeps them alive).
 *
 * Requests:
 *  - {type: "open", port, path, origin, count, localAddress}: opens `count` connections
 *    (at most PARALLEL handshakes in flight), sends one small message on each and waits for
 *    its echo, so every connection has proved the echo path; answers {opened, failed}.
 *  - {type: "closeAll"}: closes them (close frame, then waits for the close); {closed}.
 */
import WebSocket from "ws";
import { serveRequests } from "./kit";

const PARALLEL = 100;
const open: WebSocket[] = [];

function connect(url: string, origin: string, localAddress: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, headers: { Origin: origin }, localAddress });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error("timeout"));
    }, 20_000);
    ws.once("open", () => ws.send("hi"));
    ws.once("message", (data) => {
      clearTimeout(timer);
      if (String(data) === "hi") resolve(ws);
      else reject(new Error("wrong echo"));
    });
    ws.once("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`status ${res.statusCode}`));
    });
    ws.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

serveRequests({
  open: async (m) => {
    const url = `ws://127.0.0.1:${m.port}${m.path}`;
    let next = 0;
    let opened = 0;
    const failures: string[] = [];
    const worker = async () => {
      while (next < (m.count as number)) {
        next++;
        try {
          open.push(await connect(url, m.origin as string, m.localAddress as string));
          opened++;
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    return { opened, failed: failures.length, firstFailure: failures[0] ?? null };
  },
  closeAll: async () => {
    const all = open.splice(0);
    await Promise.all(
      all.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            ws.once("close", () => resolve());
            ws.close(1000);
          }),
      ),
    );
    return { closed: all.length };
  },
});
process.send?.({ type: "ready" });
