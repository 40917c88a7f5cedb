/**
 * Client process of bench:storm: a share of the storm's clients, raw TCP WebSocket clients
 * (the same precomputed upgrade request as handshake-client.ts, so the load generator stays
 * light next to the server under test), each bound to one of several 127.0.x.y source
 * addresses (`localAddress`), so that the server sees many client addresses and no single
 * address runs out of ephemeral ports.
 *
 * Requests:
 *  - {type: "storm", port, path, clients: [{origin, localAddress}]}: starts every client's
 *    handshake at once (no cap on handshakes in flight: a reconnect storm). A client whose
 *    connection fails (reset, refused, timeout: no HTTP answer) or that is told "not now"
 *    (408, 429, 503) retries after a random 0.1–1 s, up to MAX_ATTEMPTS; any other HTTP
 *    answer is final (101 keeps the socket open).
 *    Answers with the status counts, retries, failures, and when each client had its
 *    answer (ms after the start, sorted).
 *  - {type: "dropAll"}: destroys every open connection at once (no close handshake: the
 *    network blip before the reconnect); answers {dropped}.
 *  - {type: "closeAll"}: closes every open connection with a close frame and waits for the
 *    server to close it; answers {closed}.
 */
import net from "node:net";
import { serveRequests } from "./kit";

const MAX_ATTEMPTS = 10;
/** Long: a client that gives up while its handshake waits in the server's backlog makes the server do it twice. */
const ATTEMPT_TIMEOUT_MS = 120_000;
/** Answers that say "not now" (headers timeout, overload): a real client reconnects later. */
const RETRY_STATUSES = new Set([408, 429, 503]);
/** Close frame, client to server: FIN + opcode 8, masked, 2-byte payload 1000 (mask 0). */
const CLOSE_FRAME = Buffer.from([0x88, 0x82, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8]);
let open: net.Socket[] = [];

type Outcome = { status: number; socket: net.Socket | null } | { error: string };

function upgradeRequest(port: number, pathname: string, origin: string): Buffer {
  return Buffer.from(
    `GET ${pathname} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: ${origin}\r\n` +
      "User-Agent: origingate-bench/1\r\n\r\n",
    "latin1",
  );
}

function attempt(port: number, request: Buffer, localAddress: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress, noDelay: true });
    let head = "";
    let done = false;
    const finish = (outcome: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      finish({ error: "timeout" });
    }, ATTEMPT_TIMEOUT_MS);
    socket.on("connect", () => socket.write(request));
    socket.on("data", (chunk: Buffer) => {
      if (done) return; // frames after the upgrade, or a refusal's body
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      const status = Number(head.slice(9, 12));
      if (status === 101) finish({ status, socket });
      else {
        socket.destroy();
        finish({ status, socket: null });
      }
    });
    socket.on("error", (error: NodeJS.ErrnoException) => finish({ error: error.code ?? error.message }));
    socket.on("close", () => finish({ error: "closed before an answer" }));
  });
}

serveRequests({
  storm: async (m) => {
    const port = m.port as number;
    const clients = m.clients as { origin: string; localAddress: string }[];
    const requests = new Map<string, Buffer>();
    const statuses: Record<string, number> = {};
    const errors: Record<string, number> = {};
    const doneAt: number[] = [];
    const retriedStatuses: Record<string, number> = {};
    const retriedErrors: Record<string, number> = {};
    let retries = 0;
    const started = performance.now();
    await Promise.all(
      clients.map(async ({ origin, localAddress }) => {
        let request = requests.get(origin);
        if (!request) {
          request = upgradeRequest(port, m.path as string, origin);
          requests.set(origin, request);
        }
        for (let n = 1; ; n++) {
          const outcome = await attempt(port, request, localAddress);
          if ("status" in outcome && RETRY_STATUSES.has(outcome.status) && n < MAX_ATTEMPTS) {
            retriedStatuses[outcome.status] = (retriedStatuses[outcome.status] ?? 0) + 1;
          } else if ("status" in outcome) {
            statuses[outcome.status] = (statuses[outcome.status] ?? 0) + 1;
            if (outcome.socket) {
              outcome.socket.on("error", () => {});
              open.push(outcome.socket);
            }
            doneAt.push(performance.now() - started);
            return;
          } else if (n >= MAX_ATTEMPTS) {
            errors[outcome.error] = (errors[outcome.error] ?? 0) + 1;
            return;
          } else retriedErrors[outcome.error] = (retriedErrors[outcome.error] ?? 0) + 1;
          retries += 1;
          await new Promise((r) => setTimeout(r, 100 + Math.random() * 900));
        }
      }),
    );
    doneAt.sort((a, b) => a - b);
    return { statuses, errors, retries, retriedStatuses, retriedErrors, doneAt };
  },
  dropAll: () => {
    const all = open;
    open = [];
    for (const socket of all) socket.destroy();
    return { dropped: all.length };
  },
  closeAll: async () => {
    const all = open;
    open = [];
    await Promise.all(
      all.map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.destroyed) return resolve();
            socket.once("close", () => resolve());
            socket.write(CLOSE_FRAME);
            socket.end();
          }),
      ),
    );
    return { closed: all.length };
  },
});
process.send?.({ type: "ready" });
