/**
 * Load generator of bench:handshake, one process of several: opens and closes WebSocket
 * connections as fast as it can with bounded concurrency for a fixed duration.
 *
 * Raw TCP on purpose: the client shares the 2 cores with the server under test, so it must
 * cost much less per handshake than the server or it would be the bottleneck and hide the
 * server's cost. One iteration = connect, send a prebuilt upgrade request, read the status
 * line; on 101 send a (masked) close frame and wait for the server's close and FIN; on a
 * refusal wait for the server to close. The same bytes go to every target.
 *
 * Request: {type: "run", port, path, origin, concurrency, durationMs, expect}.
 * Answer: completed iterations inside the window, statuses other than `expect`, socket
 * errors, and latency percentiles (ms) of the completed iterations.
 */
import net from "node:net";
import { percentile, serveRequests } from "./kit";

/** Close frame, client to server: FIN + opcode 8, masked, 2-byte payload 1000 (mask 0). */
const CLOSE_FRAME = Buffer.from([0x88, 0x82, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8]);

interface RunRequest {
  port: number;
  path: string;
  origin: string;
  concurrency: number;
  durationMs: number;
  expect: number;
  /** Open loop: start handshakes at this rate (per second, this process), at most `concurrency` in flight; 0 = as fast as possible. */
  ratePerSecond?: number;
}

function upgradeRequest(port: number, pathname: string, origin: string): Buffer {
  return Buffer.from(
    `GET ${pathname} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: ${origin}\r\n` +
      "User-Agent: origingate-bench/1\r\n\r\n",
    "latin1",
  );
}

/** One connect → handshake → close; resolves with the HTTP status (0 on a socket error). */
function iteration(port: number, requestBytes: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1", noDelay: true });
    let status = 0;
    let head = "";
    socket.on("connect", () => socket.write(requestBytes));
    socket.on("data", (chunk: Buffer) => {
      if (status !== 0) return; // the server's close frame, or the refusal's body
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      status = Number(head.slice(9, 12));
      if (status === 101) socket.write(CLOSE_FRAME);
    });
    socket.on("error", () => {
      status = status || 0;
    });
    socket.on("close", (hadError) => resolve(hadError && status === 0 ? 0 : status));
  });
}

async function run(req: RunRequest) {
  const requestBytes = upgradeRequest(req.port, req.path, req.origin);
  const started = performance.now();
  const deadline = started + req.durationMs;
  let completed = 0;
  let errors = 0;
  const unexpected: Record<string, number> = {};
  const latencies: number[] = [];
  // Open loop (BENCH_RATE): every target gets the same handshakes per second, so CPU per
  // handshake compares the same work rather than each server at its own saturation.
  const interval = req.ratePerSecond ? 1000 / req.ratePerSecond : 0;
  let nextStart = started;
  const loop = async () => {
    while (performance.now() < deadline) {
      if (interval > 0) {
        const at = nextStart;
        nextStart += interval;
        const wait = at - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (performance.now() >= deadline) break;
      }
      const t0 = performance.now();
      const status = await iteration(req.port, requestBytes);
      const t1 = performance.now();
      if (t1 > deadline) break;
      if (status === req.expect) {
        completed++;
        if (latencies.length < 200_000) latencies.push(t1 - t0);
      } else if (status === 0) errors++;
      else unexpected[status] = (unexpected[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: req.concurrency }, loop));
  latencies.sort((a, b) => a - b);
  return {
    completed,
    errors,
    unexpected,
    elapsedMs: req.durationMs,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

serveRequests({
  run: (message) => run(message as unknown as RunRequest),
});
process.send?.({ type: "ready" });
