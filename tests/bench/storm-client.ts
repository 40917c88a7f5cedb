/**
 * Client process of bench:storm: a share of the storm's clients, each a real `ws` client
 * bound to one of several 127.0.x.y source addresses (`localAddress`), so that the server
 * sees many client addresses and no single address runs out of ephemeral ports.
 *
 * Requests:
 *  - {type: "storm", port, path, clients: [{origin, localAddress}], expect: {origin: status}}:
 *    starts every client's handshake at once (no cap on handshakes in flight: a reconnect
 *    storm). A client whose connection fails (reset, timeout: not an HTTP answer) retries
 *    after a random 0.1–1 s, up to MAX_ATTEMPTS; an HTTP answer is final. Answers with the
 *    outcome counts, retries, and when each client was done (ms after the start, sorted).
 *  - {type: "dropAll"}: terminates every open connection at once (no close handshake: the
 *    network blip before the reconnect); answers {dropped}.
 *  - {type: "closeAll"}: closes every open connection (close frame); answers {closed}.
 */
import WebSocket from "ws";
import { serveRequests } from "./kit";

const MAX_ATTEMPTS = 10;
const ATTEMPT_TIMEOUT_MS = 30_000;
let open: WebSocket[] = [];

type Outcome = { status: number; ws: WebSocket | null } | { error: string };

function attempt(url: string, origin: string, localAddress: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, headers: { Origin: origin }, localAddress });
    const timer = setTimeout(() => {
      ws.terminate();
      resolve({ error: "timeout" });
    }, ATTEMPT_TIMEOUT_MS);
    ws.once("open", () => {
      clearTimeout(timer);
      resolve({ status: 101, ws });
    });
    ws.once("unexpected-response", (req, res) => {
      clearTimeout(timer);
      res.resume();
      req.destroy();
      resolve({ status: res.statusCode ?? 0, ws: null });
    });
    ws.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ error: error.code ?? error.message });
    });
  });
}

serveRequests({
  storm: async (m) => {
    const url = `ws://127.0.0.1:${m.port}${m.path}`;
    const clients = m.clients as { origin: string; localAddress: string }[];
    const statuses: Record<string, number> = {};
    const errors: Record<string, number> = {};
    const doneAt: number[] = [];
    let retries = 0;
    const started = performance.now();
    await Promise.all(
      clients.map(async ({ origin, localAddress }) => {
        for (let n = 1; ; n++) {
          const outcome = await attempt(url, origin, localAddress);
          if ("status" in outcome) {
            statuses[outcome.status] = (statuses[outcome.status] ?? 0) + 1;
            if (outcome.ws) open.push(outcome.ws);
            doneAt.push(performance.now() - started);
            return;
          }
          if (n >= MAX_ATTEMPTS) {
            errors[outcome.error] = (errors[outcome.error] ?? 0) + 1;
            return;
          }
          retries += 1;
          await new Promise((r) => setTimeout(r, 100 + Math.random() * 900));
        }
      }),
    );
    doneAt.sort((a, b) => a - b);
    return { statuses, errors, retries, doneAt };
  },
  dropAll: () => {
    const all = open;
    open = [];
    for (const ws of all) ws.terminate();
    return { dropped: all.length };
  },
  closeAll: async () => {
    const all = open;
    open = [];
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
