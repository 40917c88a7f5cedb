/**
 * Fuzz test of a running gateway process (issue 11, "Tests"): for a bounded time, random
 * and hostile request lines, paths, header names and values (lengths from 0 to the header
 * limit, every byte class) from several client addresses, against a real `npm run gateway`
 * process and Postgres. Invariants checked afterwards:
 *   - the process stays up and `/healthz` tells the truth, sampled during the run (Postgres
 *     is up and nothing is dropped, so: postgres, never `dropping`, `degraded` exactly when
 *     the audit is not `ok`) and at the end (ok, audit ok, empty queue);
 *   - every refusal carries `X-OriginGate-Reason`: WebSocket upgrades, `/t/` requests and
 *     plain requests to the gateway's other paths (`/`, `*`, `/admin/stream` without
 *     Upgrade, no `Host`), some of them sent on every run whatever the seed;
 *   - every request gets an answer: none hangs, and at most a small share of connections
 *     (MAX_SILENT_SHARE, for a refusal the kernel turns into a reset before its bytes are
 *     read) is closed without one;
 *   - the audit counts add up exactly: the handshakes the gateway counted in its metrics
 *     equal the handshake events in Postgres (sum of folded counts), and every accepted
 *     connection has its close event;
 *   - the bounded structures (rate-limiter maps, fold windows, audit queue) stay within
 *     their bounds as the metrics report them, sampled during the run.
 * The seed is printed; replay a failure with FUZZ_SEED=<seed> (and FUZZ_MS for longer runs).
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, query, type TenantFixture } from "../helpers/fixtures";
import { eventually, type ProcessGateway, spawnGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const DURATION_MS = Number(process.env.FUZZ_MS ?? 8000);
const CONCURRENCY = 12;
const MAX_HEADER_BYTES = 8192;
const AUDIT_QUEUE_MAX = 20_000;
const ALLOWED = "https://app.example.com";
/**
 * Connections closed with no answer, at most this share of all requests. A refusal of an
 * oversized head is written and the socket closed while the client may still be sending:
 * the peer's kernel may then answer with a reset that discards the answer before it is
 * read. Anything else that goes unanswered counts too, and a hang (no answer and no close)
 * is never allowed.
 */
const MAX_SILENT_SHARE = 0.01;

/** mulberry32: small, fast, good enough to drive a fuzzer reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
const int = (r: Rand, min: number, max: number) => min + Math.floor(r() * (max - min + 1));

/** Bytes of one class: printable ASCII, token characters, controls, high bytes, or anything. */
function bytes(r: Rand, length: number): Buffer {
  const kind = int(r, 0, 4);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    out[i] =
      kind === 0
        ? int(r, 0x20, 0x7e)
        : kind === 1
          ? "abcdefghijklmnopqrstuvwxyz0123456789-._~%".charCodeAt(int(r, 0, 40))
          : kind === 2
            ? int(r, 0, 0x1f)
            : kind === 3
              ? int(r, 0x80, 0xff)
              : int(r, 0, 0xff);
  }
  return out;
}

function length(r: Rand): number {
  return pick(r, [0, 1, 2, int(r, 3, 64), int(r, 65, 1024), int(r, 1025, MAX_HEADER_BYTES)]);
}

const HOSTILE_SEGMENTS = [
  "..",
  ".",
  "%2e%2e",
  "%2E.",
  "%2f",
  "%5c",
  "\\",
  "%00",
  "%ff",
  "..;",
  "%252e%252e",
  "?access_token=x",
];
const ORIGINS = [
  ALLOWED,
  "https://app.example.com.evil.net",
  "https://evilapp.example.com",
  "null",
  "http://2130706433",
  "https://[0:0:0:0:0:0:0:1]",
  "https://xn--zz",
  "https://APP.example.com:443",
  `${ALLOWED}, https://evil.example.net`,
];

/** A handshake a browser could send, to the tenant, from an origin that may or may not be allowed. */
function cleanHandshake(r: Rand, slug: string): Buffer {
  return Buffer.from(
    `GET /t/${slug}/${bytes(r, int(r, 0, 8)).toString("hex")} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
      `Origin: ${pick(r, ORIGINS)}\r\n\r\n`,
    "latin1",
  );
}

/** What a request is, for the invariant messages: an upgrade, a plain `/t/` request, or another plain one. */
type Kind = "upgrade" | "tenant" | "plain";

/**
 * Plain requests to paths that are no tenant endpoint, and a request without Host: sent on
 * every run whatever the seed, so the reason-header invariant always covers them.
 */
const FIXED_PLAIN = [
  "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
  "GET * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
  "OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
  "GET /admin/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://app.example.com\r\n\r\n",
  "POST /admin/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n",
  "DELETE /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
  "GET http://127.0.0.1/admin/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
  "GET / HTTP/1.1\r\n\r\n",
  "GET /healthz HTTP/1.1\r\nOrigin: https://app.example.com\r\n\r\n",
];

/** One request: mostly shaped like a WebSocket handshake, then broken in random places. */
function request(r: Rand, slug: string): { bytes: Buffer; kind: Kind } {
  if (r() < 0.3) return { bytes: cleanHandshake(r, slug), kind: "upgrade" };
  const method = pick(r, ["GET", "GET", "GET", "POST", "OPTIONS", "HEAD", "PUT", "G\u00e9T", "BREW", ""]);
  const segments: string[] = [];
  for (let i = int(r, 0, 4); i > 0; i--) {
    segments.push(r() < 0.4 ? pick(r, HOSTILE_SEGMENTS) : bytes(r, int(r, 0, 20)).toString("latin1"));
  }
  const target = pick(r, [slug, slug, bytes(r, length(r)).toString("latin1"), "", "%ff", "demo"]);
  const path = pick(r, [
    `/t/${target}/${segments.join("/")}`,
    `/t/${target}/${segments.join("/")}`,
    `/${segments.join("/")}`,
    "/",
    "/admin/stream",
    "*",
    `http://127.0.0.1/t/${slug}/x`,
  ]);
  // Now and then no Host at all (HTTP/1.1 requires one: RFC 9112 §3.2).
  const headers: Array<[string, Buffer | string]> = r() < 0.05 ? [] : [["Host", "127.0.0.1"]];
  // What the server will see as an upgrade request: an Upgrade header and a Connection
  // header naming it (otherwise Node serves it as plain HTTP).
  let upgrade = false;
  if (r() < 0.8) {
    const upgradeValue = pick(r, ["websocket", "websocket", "WebSocket", "h2c", ""]);
    const connection = pick(r, ["Upgrade", "upgrade", "keep-alive, Upgrade", "close"]);
    upgrade = upgradeValue !== "" && /upgrade/i.test(connection);
    headers.push(["Upgrade", upgradeValue]);
    headers.push(["Connection", connection]);
    headers.push(["Sec-WebSocket-Key", pick(r, ["dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ==", "short", ""])]);
    headers.push(["Sec-WebSocket-Version", pick(r, ["13", "13", "8", "13, 8", ""])]);
  }
  if (r() < 0.9) headers.push(["Origin", r() < 0.7 ? pick(r, ORIGINS) : bytes(r, length(r))]);
  if (r() < 0.3) headers.push(["Sec-WebSocket-Protocol", r() < 0.5 ? "chat, bearer.x.y.z" : bytes(r, length(r))]);
  if (r() < 0.2) headers.push(["Cookie", bytes(r, int(r, 0, 200))]);
  if (r() < 0.2) headers.push(["User-Agent", bytes(r, length(r))]);
  for (let i = int(r, 0, 3); i > 0; i--) {
    headers.push([r() < 0.5 ? bytes(r, int(r, 0, 40)).toString("latin1") : `X-${int(r, 0, 999)}`, bytes(r, length(r))]);
  }
  if (r() < 0.1) headers.push(["Origin", ALLOWED]); // a second Origin line
  const head = Buffer.concat([
    Buffer.from(`${method} ${path} HTTP/1.1\r\n`, "latin1"),
    ...headers.flatMap(([name, value]) => [
      Buffer.from(`${name}: `, "latin1"),
      typeof value === "string" ? Buffer.from(value, "latin1") : value,
      Buffer.from("\r\n"),
    ]),
    Buffer.from("\r\n"),
  ]);
  return { bytes: head, kind: upgrade ? "upgrade" : path.startsWith("/t/") ? "tenant" : "plain" };
}

interface Answer {
  /** The response's status, or null when the connection ended (or hung) without one. */
  status: number | null;
  reason: string | null;
  /** No answer: "timeout" (a hang), the socket error's code, or "closed". */
  failure?: string;
}

/** Sends raw bytes from `localAddress`; resolves with the response head, or how it ended without one. */
function send(port: number, localAddress: string, data: Buffer): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress });
    let buffered = Buffer.alloc(0);
    let done = false;
    const finish = (answer: Answer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy(); // an accepted connection is dropped at once: its close is audited too
      resolve(answer);
    };
    const timer = setTimeout(() => finish({ status: null, reason: null, failure: "timeout" }), 15_000);
    socket.on("data", (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end === -1) return;
      const head = buffered.subarray(0, end).toString("latin1").split("\r\n");
      const status = Number(head[0]?.split(" ")[1]);
      const reasonLine = head.find((line) => line.toLowerCase().startsWith("x-origingate-reason:"));
      finish({ status, reason: reasonLine ? reasonLine.slice(reasonLine.indexOf(":") + 1).trim() : null });
    });
    socket.on("error", (error: NodeJS.ErrnoException) =>
      finish({ status: null, reason: null, failure: error.code ?? error.message }),
    );
    socket.on("close", () => finish({ status: null, reason: null, failure: "closed" }));
    socket.on("connect", () => socket.write(data));
  });
}

/** The public `/healthz` body (server/admin/health.ts), the fields checked here. */
interface HealthBody {
  status: string;
  policySource: string;
  policy: { status: string };
  audit: { status: string; queueDepth: number };
}

/** Sum of a metric's samples (optionally only those whose labels contain `filter`). */
function metric(text: string, name: string, filter = ""): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name) || !(line[name.length] === " " || line[name.length] === "{")) continue;
    if (filter && !line.includes(filter)) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

describe("gateway fuzz", () => {
  let db: string;
  let gw: ProcessGateway;
  let tenant: TenantFixture;

  beforeAll(async () => {
    db = await createTestDatabase("fuzz");
    tenant = await createTenant(db, {
      policy: { origins: [ALLOWED], limits: { handshakesPerMinutePerIp: 1_000_000, maxConnectionsPerIp: 1000 } },
    });
    gw = await spawnGateway(db, {
      MAX_HEADER_BYTES: String(MAX_HEADER_BYTES),
      AUDIT_QUEUE_MAX: String(AUDIT_QUEUE_MAX),
      UNKNOWN_TENANT_RATE_PER_MIN: "300",
      LOG_LEVEL: "error",
    });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it(`survives hostile input with exact audit counts and bounded state (seed ${SEED})`, async () => {
    console.log(`gateway fuzz: FUZZ_SEED=${SEED} FUZZ_MS=${DURATION_MS}`);
    const rand = prng(SEED);
    const addresses = Array.from({ length: 40 }, (_, i) => `127.0.${1 + (i >> 4)}.${1 + (i & 15)}`);
    const deadline = Date.now() + DURATION_MS;
    const missingReason: string[] = [];
    const unanswered: string[] = [];
    const refusals: Record<Kind, number> = { upgrade: 0, tenant: 0, plain: 0 };
    let sent = 0;
    let upgraded = 0;
    const samples: string[] = [];
    const healthSamples: HealthBody[] = [];
    const check = (data: Buffer, kind: Kind, answer: Answer) => {
      sent++;
      const shown = JSON.stringify(data.toString("latin1").slice(0, 120));
      if (answer.status === null) unanswered.push(`${answer.failure} (${data.length} bytes) for ${shown}`);
      else if (answer.status === 101) upgraded++;
      else if (answer.status >= 400) {
        refusals[kind]++;
        if (!answer.reason) missingReason.push(`${kind}: ${answer.status} for ${shown}`);
      }
    };

    // Sampled during the run: the metrics (bounded structures) and /healthz (its truth).
    let sampling = Promise.resolve();
    const sampler = setInterval(() => {
      sampling = sampling.then(async () => {
        samples.push(await (await fetch(`${gw.httpUrl}/metrics`)).text());
        const health = await fetch(`${gw.httpUrl}/healthz`);
        expect(health.status).toBe(200);
        healthSamples.push((await health.json()) as HealthBody);
      });
    }, 500);
    try {
      for (const text of FIXED_PLAIN) {
        const data = Buffer.from(text, "latin1");
        const answer = await send(gw.port, addresses[0]!, data);
        check(data, "plain", answer);
        expect(answer.status, text).toBeGreaterThanOrEqual(400);
      }
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (Date.now() < deadline) {
            const { bytes: data, kind } = request(rand, tenant.slug);
            check(data, kind, await send(gw.port, pick(rand, addresses), data));
          }
        }),
      );
    } finally {
      clearInterval(sampler);
      await sampling;
    }
    console.log(
      `gateway fuzz: ${sent} requests, ${upgraded} upgraded, refusals checked for a reason: ` +
        `${refusals.upgrade} upgrade, ${refusals.tenant} /t/, ${refusals.plain} plain; ` +
        `${unanswered.length} without an answer${unanswered.length ? `:\n  ${unanswered.slice(0, 20).join("\n  ")}` : ""}`,
    );

    // The process is up; every refusal said why; every request was answered (or, rarely, reset).
    expect(gw.child.exitCode).toBeNull();
    expect(missingReason).toEqual([]);
    expect(refusals.plain).toBeGreaterThanOrEqual(FIXED_PLAIN.length);
    expect(upgraded).toBeGreaterThan(0);
    expect(unanswered.filter((line) => line.startsWith("timeout"))).toEqual([]);
    expect(unanswered.length, "connections closed without an answer").toBeLessThanOrEqual(
      Math.floor(sent * MAX_SILENT_SHARE),
    );

    // /healthz told the truth while it was hammered: Postgres was up and nothing was dropped
    // (both checked below), so it never said otherwise; `degraded` only with the audit's reason.
    expect(healthSamples.length).toBeGreaterThan(0);
    for (const health of healthSamples) {
      expect(health.policySource).toBe("postgres");
      expect(health.policy.status).toBe("ok");
      expect(["ok", "stalled"]).toContain(health.audit.status);
      expect(health.status).toBe(health.audit.status === "ok" ? "ok" : "degraded");
      expect(health.audit.queueDepth).toBeLessThanOrEqual(AUDIT_QUEUE_MAX);
      if (health.audit.status === "stalled") expect(health.audit.queueDepth).toBeGreaterThan(0);
    }

    // Every accepted connection closed, every fold window closed, the queue written.
    const settled = await eventually(async () => {
      const text = await (await fetch(`${gw.httpUrl}/metrics`)).text();
      const idle =
        metric(text, "origingate_open_connections") === 0 &&
        metric(text, "origingate_audit_queue_depth") === 0 &&
        metric(text, "origingate_audit_fold_keys") === 0;
      return idle ? text : null;
    }, 30_000);
    const health = (await (await fetch(`${gw.httpUrl}/healthz`)).json()) as HealthBody;
    expect(health).toMatchObject({ status: "ok", audit: { status: "ok", queueDepth: 0 } });

    // Exact audit counts: what the gateway counted is what Postgres holds.
    const counted = metric(settled, "origingate_handshakes_total");
    const [stored] = await query<{ handshakes: string; accepted: string; closes: string; dropped: string }>(
      db,
      `select coalesce(sum(count) filter (where kind = 'handshake'), 0) as handshakes,
              coalesce(sum(count) filter (where kind = 'handshake' and decision = 'accepted'), 0) as accepted,
              coalesce(sum(count) filter (where kind = 'close'), 0) as closes,
              coalesce(sum(count) filter (where kind = 'dropped'), 0) as dropped
         from audit_event where gateway_id = $1`,
      [gw.id],
    );
    expect(Number(stored!.dropped)).toBe(0);
    expect(Number(stored!.handshakes)).toBe(counted);
    expect(Number(stored!.closes)).toBe(Number(stored!.accepted));
    expect(Number(stored!.accepted)).toBeGreaterThanOrEqual(upgraded);
    expect(metric(settled, "origingate_audit_events_dropped_total")).toBe(0);

    // The bounded structures stayed within their bounds whenever they were looked at.
    expect(samples.length).toBeGreaterThan(0);
    for (const text of [...samples, settled]) {
      const maxKeys = metric(text, "origingate_rate_limiter_max_keys");
      expect(metric(text, "origingate_rate_limiter_keys", 'limiter="unverified"')).toBeLessThanOrEqual(maxKeys);
      expect(metric(text, "origingate_rate_limiter_keys", 'limiter="tenant"')).toBeLessThanOrEqual(maxKeys);
      expect(metric(text, "origingate_audit_fold_keys")).toBeLessThanOrEqual(
        metric(text, "origingate_audit_fold_max_keys"),
      );
      expect(metric(text, "origingate_audit_queue_depth")).toBeLessThanOrEqual(AUDIT_QUEUE_MAX);
    }
  }, 120_000);
});
