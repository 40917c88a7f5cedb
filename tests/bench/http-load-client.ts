/**
 * HTTP load generator of bench:authz (its own process): keep-alive HTTP/1.1 over raw TCP,
 * so the client costs far less per request than the servers under test, and one prebuilt
 * request per connection (the same bytes for every target). Responses must carry a
 * Content-Length (nginx, the gateway's /authz and the benches' app all do).
 *
 * Two modes, request {type: "run", ...}:
 *   - "rate": open loop at `rate` requests per second for `durationMs`: a request is due
 *     every 1/rate seconds whether or not earlier ones have been answered (no coordinated
 *     omission); it goes out on an idle connection, or a new one (at most `concurrency`).
 *     Latency is measured from when the request was written (the client's own timer is
 *     coarse, ~1 ms, and must not count as server time); a server that falls behind still
 *     shows it, since nothing waits for earlier answers, and `late` counts the requests
 *     that were written more than 1 ms after they were due (`dropped`: no connection free).
 *   - "max": closed loop, `concurrency` connections each sending its next request as soon
 *     as the previous answer arrived, for `durationMs`: the throughput ceiling.
 * Answer: completed requests, statuses, errors, achieved rate and latency percentiles (ms).
 */
import net from "node:net";
import { percentile, serveRequests } from "./kit";

interface RunRequest {
  mode: "rate" | "max";
  port: number;
  /** The raw request (HTTP/1.1, keep-alive). */
  request: string;
  rate?: number;
  concurrency: number;
  durationMs: number;
}

class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private pending: ((status: number) => void) | null = null;
  busy = false;
  dead = false;
  private readonly socket: net.Socket;

  constructor(
    port: number,
    private readonly bytes: Buffer,
  ) {
    this.socket = net.connect(port, "127.0.0.1");
    this.socket.setNoDelay(true);
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    const fail = () => {
      this.dead = true;
      this.busy = false;
      this.pending?.(0);
      this.pending = null;
    };
    this.socket.on("error", fail);
    this.socket.on("close", fail);
  }

  send(): Promise<number> {
    this.busy = true;
    return new Promise((resolve) => {
      this.pending = (status) => {
        this.busy = false;
        resolve(status);
      };
      this.socket.write(this.bytes);
    });
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const end = this.buffer.indexOf("\r\n\r\n");
      if (end === -1) return;
      const head = this.buffer.subarray(0, end).toString("latin1");
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (this.buffer.length < end + 4 + length) return;
      this.buffer = this.buffer.subarray(end + 4 + length);
      const status = Number(head.slice(9, 12));
      // The server ends keep-alive here (nginx after keepalive_requests): a new connection next time.
      if (/\r\nconnection:\s*close/i.test(head)) {
        this.dead = true;
        this.socket.end();
      }
      const pending = this.pending;
      this.pending = null;
      pending?.(status);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

async function run(r: RunRequest) {
  const bytes = Buffer.from(r.request, "latin1");
  const connections: Connection[] = [];
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  let errors = 0;
  let dropped = 0;
  let late = 0;
  const started = performance.now();
  const until = started + r.durationMs;
  const record = (status: number, since: number) => {
    if (status === 0) {
      errors += 1;
      return;
    }
    statuses[status] = (statuses[status] ?? 0) + 1;
    latencies.push(performance.now() - since);
  };
  const idle = () => {
    for (let i = connections.length - 1; i >= 0; i--) {
      const c = connections[i]!;
      if (c.dead && !c.busy) connections.splice(i, 1);
    }
    for (const c of connections) if (!c.busy && !c.dead) return c;
    if (connections.length < r.concurrency) {
      const c = new Connection(r.port, bytes);
      connections.push(c);
      return c;
    }
    return null;
  };

  if (r.mode === "max") {
    const loop = async () => {
      let c = new Connection(r.port, bytes);
      connections.push(c);
      while (performance.now() < until) {
        if (c.dead) {
          c = new Connection(r.port, bytes);
          connections.push(c);
        }
        const t = performance.now();
        record(await c.send(), t);
      }
    };
    await Promise.all(Array.from({ length: r.concurrency }, loop));
  } else {
    const interval = 1000 / (r.rate ?? 1000);
    let due = started;
    const inFlight = new Set<Promise<void>>();
    while (due < until) {
      const now = performance.now();
      if (now < due) {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - now - 1)));
        continue;
      }
      // Every request that is due goes out now (late ones measured from when they were due).
      while (due <= performance.now() && due < until) {
        const c = idle();
        const since = due;
        due += interval;
        if (!c) {
          dropped += 1;
          continue;
        }
        const sent = performance.now();
        if (sent - since > 1) late += 1;
        const p = c.send().then((status) => record(status, sent));
        inFlight.add(p);
        void p.then(() => inFlight.delete(p));
      }
    }
    await Promise.all(inFlight);
  }
  const elapsed = (performance.now() - started) / 1000;
  for (const c of connections) c.close();
  latencies.sort((a, b) => a - b);
  const completed = latencies.length;
  return {
    completed,
    perSecond: completed / elapsed,
    statuses,
    errors,
    dropped,
    late,
    connections: connections.length,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? Number.NaN,
  };
}

serveRequests({ run: (m) => run(m as unknown as RunRequest) });
process.send?.({ type: "ready" });
