/**
 * The audit API's domain functions (app/_lib/audit) against a real Postgres: history
 * filters and their validation, keyset pages (no overlap, no gap, stable while events
 * arrive), the overview's buckets and top rejected origins, CSV/NDJSON export (escaping,
 * formula-injection defusal, the row cap and its marker), the live feed's token, and
 * "allow this origin" (exactly one new allowlist entry as a new revision; refusals for
 * other reasons, already-allowed origins, stale versions, vanished tenants) — finished by
 * a real gateway accepting the origin it refused before.
 *
 * Every test seeds its own tenant slugs, so filters by tenant isolate them.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { allowAuditOrigin } from "../../app/_lib/audit/allow-audit-origin";
import { AUDIT_CSV_COLUMNS } from "../../app/_lib/audit/audit-csv";
import { auditExportQuery } from "../../app/_lib/audit/audit-filter-input";
import { auditExportChunks, exportAuditEvents } from "../../app/_lib/audit/export-audit-events";
import { getAuditStats } from "../../app/_lib/audit/get-audit-stats";
import { STREAM_SUBPROTOCOL } from "../../app/_lib/audit/mint-stream-token";
import { searchAuditEvents } from "../../app/_lib/audit/search-audit-events";
import { csvCell } from "../../app/_lib/export/csv";
import { getPolicy } from "../../app/_lib/policy/get-policy";
import { listRevisions } from "../../app/_lib/policy/list-revisions";
import { deleteTenant } from "../../app/_lib/tenants/delete-tenant";
import { verifyAdminToken } from "../../server/admin/admin-token";
import { STREAM_PROTOCOL } from "../../server/admin/stream";
import type { AuditEvent } from "../../server/db/audit-queries";
import { loadPolicy } from "../../server/db/policy-queries";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { getOrCreateSecretSetting, SETTING_ADMIN_TOKEN_KEY } from "../../server/db/settings";
import { savePolicy } from "../../server/domain/policy/save-policy";
import { createTenant } from "../../server/domain/tenants/create-tenant";
import { configuredSecretBox } from "../../server/secrets/secrets-key";
import { rejection } from "../helpers/app-error";
import { eventually, expectRefusal, handshake, startGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const actor = { id: null, label: "editor@example.com" };
let url: string;
let prisma: PrismaClient;
let pool: pg.Pool;

const slug = (prefix = "a") => `${prefix}-${randomBytes(4).toString("hex")}`;

interface Seed {
  ts?: Date;
  lastTs?: Date | null;
  kind?: AuditEvent["kind"];
  via?: AuditEvent["via"];
  tenant?: string | null;
  decision?: AuditEvent["decision"];
  reason?: string;
  origin?: string | null;
  originNormalized?: string | null;
  remoteAddr?: string | null;
  userAgent?: string | null;
  path?: string | null;
  count?: number;
  closeCode?: number | null;
  durationMs?: number | null;
  details?: Record<string, unknown> | null;
}

/** Inserts events in order (ids ascending) and returns their ids. */
async function seed(events: Seed[]): Promise<string[]> {
  const ids: string[] = [];
  for (const e of events) {
    const { rows } = await pool.query<{ id: string }>(
      `insert into audit_event (ts, last_ts, gateway_id, kind, tenant, decision, reason, origin, origin_normalized,
              remote_addr, user_agent, path, count, close_code, duration_ms, details, policy_version, via)
       values ($1, $2, 'gw-test', $3::audit_kind, $4, $5::audit_decision, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1,
               $16::audit_via)
       returning id::text as id`,
      [
        e.ts ?? new Date(),
        e.lastTs ?? null,
        e.kind ?? "handshake",
        e.tenant === undefined ? "none" : e.tenant,
        e.decision ?? "rejected",
        e.reason ?? "origin_not_allowed",
        e.origin === undefined ? "https://evil.example" : e.origin,
        e.originNormalized === undefined ? (e.origin ?? "https://evil.example") : e.originNormalized,
        e.remoteAddr ?? "203.0.113.7",
        e.userAgent ?? "test-agent",
        e.path ?? "/socket",
        e.count ?? 1,
        e.closeCode ?? null,
        e.durationMs ?? null,
        e.details ? JSON.stringify(e.details) : null,
        e.via ?? "gateway",
      ],
    );
    ids.push(rows[0]!.id);
  }
  return ids;
}

const doc = (origins: Array<string | { pattern: string; expiresAt?: string | null; note?: string | null }>) => ({
  mode: "enforce",
  origins: origins.map((o) => (typeof o === "string" ? { pattern: o } : o)),
  credentials: "forbid",
  token: "off",
  missingOrigin: "reject",
  subprotocols: [],
  limits: { maxMessageBytes: 1048576, idleTimeoutSeconds: 60, maxConnections: 10000, handshakesPerMinutePerIp: 600 },
});

async function newTenant(origins: Parameters<typeof doc>[0] = []): Promise<string> {
  const s = slug("t");
  await createTenant({ db: prisma, input: { slug: s, name: s }, actor, document: doc(origins) });
  return s;
}

async function zodRejection(promise: Promise<unknown>): Promise<Array<{ path: string; message: string }>> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ZodError) return error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    throw error;
  }
  throw new Error("expected a validation error");
}

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF), independent of the code under test. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += c;
  }
  if (cell !== "" || row.length > 0) rows.push([...row, cell]);
  return rows;
}

async function collect(chunks: AsyncIterable<string>): Promise<string> {
  let out = "";
  for await (const chunk of chunks) out += chunk;
  return out;
}

beforeAll(async () => {
  url = await createTestDatabase("audit_api");
  prisma = createPrisma(url);
  pool = new pg.Pool({ connectionString: url, max: 4 });
});

afterAll(async () => {
  await prisma?.$disconnect();
  await pool?.end();
});

describe("searchAuditEvents (GET /api/v1/audit)", () => {
  it("applies each filter exactly, newest first", async () => {
    const t = slug();
    const other = slug();
    const base = Date.now() - 60_000;
    const at = (s: number) => new Date(base + s * 1000);
    const [a, b, c, d, e, f] = await seed([
      { tenant: t, ts: at(0), decision: "accepted", reason: "allowed", origin: "https://ok.example" },
      { tenant: t, ts: at(10), reason: "origin_not_allowed", origin: "https://evil.example" },
      { tenant: t, ts: at(20), reason: "credentials_forbidden", origin: "https://ok.example" },
      { tenant: t, ts: at(30), reason: "origin_malformed", origin: "https://bad.example/path", originNormalized: null },
      {
        tenant: t,
        ts: at(40),
        kind: "close",
        decision: "accepted",
        reason: "allowed",
        origin: "https://closer.example",
        closeCode: 1000,
        durationMs: 5,
      },
      { tenant: other, ts: at(50), reason: "origin_not_allowed", origin: "https://evil.example" },
    ]);
    const ids = async (query: Record<string, unknown>) =>
      (await searchAuditEvents({ db: pool, query })).events.map((x) => x.id);

    expect(await ids({ tenant: t })).toEqual([e, d, c, b, a]);
    expect(await ids({ tenant: t, decision: "rejected" })).toEqual([d, c, b]);
    expect(await ids({ tenant: t, decision: "accepted" })).toEqual([e, a]);
    expect(await ids({ tenant: t, reason: "credentials_forbidden" })).toEqual([c]);
    expect(await ids({ tenant: t, kind: "close" })).toEqual([e]);
    expect(await ids({ tenant: t, origin: "https://ok.example" })).toEqual([c, a]);
    // A malformed origin has no normalized form: it is found as sent.
    expect(await ids({ tenant: t, origin: "https://bad.example/path" })).toEqual([d]);
    expect(await ids({ origin: "https://evil.example", reason: "origin_not_allowed", tenant: other })).toEqual([f]);
    // since is inclusive, until exclusive.
    expect(await ids({ tenant: t, since: at(10).toISOString(), until: at(30).toISOString() })).toEqual([c, b]);
    expect(await ids({ tenant: t, since: at(40).toISOString() })).toEqual([e]);
    expect(await ids({ tenant: slug() })).toEqual([]);
    // via: how the decision was reached (the gateway itself, or a proxy's /authz subrequest).
    const viaTenant = slug();
    const [gatewayHttp, forwardAuth] = await seed([
      { tenant: viaTenant, ts: at(0), kind: "http", via: "gateway" },
      { tenant: viaTenant, ts: at(1), kind: "preflight", via: "forward_auth" },
    ]);
    expect(await ids({ tenant: viaTenant, via: "forward_auth" })).toEqual([forwardAuth]);
    expect(await ids({ tenant: viaTenant, via: "gateway" })).toEqual([gatewayHttp]);
    expect(await ids({ tenant: viaTenant, kind: "preflight" })).toEqual([forwardAuth]);
    expect((await searchAuditEvents({ db: pool, query: { tenant: viaTenant } })).events[0]).toMatchObject({
      via: "forward_auth",
      kind: "preflight",
    });

    const page = await searchAuditEvents({ db: pool, query: { tenant: t, origin: "https://evil.example" } });
    expect(page.nextCursor).toBeNull();
    expect(page.events[0]).toMatchObject({
      id: b,
      tenant: t,
      decision: "rejected",
      reason: "origin_not_allowed",
      origin: "https://evil.example",
      originNormalized: "https://evil.example",
      remoteAddr: "203.0.113.7",
      policyVersion: 1,
      count: 1,
      kind: "handshake",
      gatewayId: "gw-test",
    });
    expect(page.events[0]!.ts).toBe(at(10).toISOString());
  });

  it("refuses bad filters with the path of each problem (422 at the API)", async () => {
    expect(await zodRejection(searchAuditEvents({ db: pool, query: { decision: "maybe" } }))).toEqual([
      expect.objectContaining({ path: "decision" }),
    ]);
    expect((await zodRejection(searchAuditEvents({ db: pool, query: { cursor: "12; drop" } })))[0]!.path).toBe(
      "cursor",
    );
    expect((await zodRejection(searchAuditEvents({ db: pool, query: { limit: "5000" } })))[0]!.path).toBe("limit");
    expect((await zodRejection(searchAuditEvents({ db: pool, query: { since: "yesterday" } })))[0]!.path).toBe("since");
    expect((await zodRejection(searchAuditEvents({ db: pool, query: { reason: "Robert'); --" } })))[0]!.path).toBe(
      "reason",
    );
    expect(await zodRejection(searchAuditEvents({ db: pool, query: { colour: "red" } }))).toEqual([
      expect.objectContaining({ message: expect.stringContaining("colour") }),
    ]);
    expect(
      await zodRejection(
        searchAuditEvents({ db: pool, query: { since: "2026-01-02T00:00:00Z", until: "2026-01-01T00:00:00Z" } }),
      ),
    ).toEqual([{ path: "until", message: "must be later than since" }]);
  });

  it("keyset pages have no overlap and no gap, even while new events arrive", async () => {
    const t = slug();
    const all = await seed(Array.from({ length: 237 }, (_, i) => ({ tenant: t, origin: `https://o${i}.example` })));
    const expected = [...all].reverse();
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await searchAuditEvents({ db: pool, query: { tenant: t, limit: "25", cursor } });
      pages++;
      seen.push(...page.events.map((e) => e.id));
      // Newer events written between pages must not shift or repeat anything.
      if (pages === 3) await seed([{ tenant: t }, { tenant: t }]);
      if (!page.nextCursor) break;
      expect(page.events).toHaveLength(25);
      // The cursor is the last row's keyset position: `<epoch ms of ts>_<id>`.
      const last = page.events.at(-1)!;
      expect(page.nextCursor).toBe(`${Date.parse(last.ts)}_${last.id}`);
      cursor = page.nextCursor;
    }
    expect(pages).toBe(10);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expected);
    // Ids compare as numbers, not text ("99" < "100").
    expect(seen.map(BigInt)).toEqual([...seen.map(BigInt)].sort((x, y) => (x > y ? -1 : x < y ? 1 : 0)));
  });
});

describe("getAuditStats (GET /api/v1/audit/stats)", () => {
  it("counts folded handshakes per bucket over the window, every bucket present, and ranks rejected origins", async () => {
    const t = slug();
    const now = new Date("2030-05-01T12:30:30.000Z");
    const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);
    await seed([
      { tenant: t, ts: minutesAgo(0), decision: "accepted", reason: "allowed", count: 3 },
      { tenant: t, ts: minutesAgo(0), reason: "origin_not_allowed", origin: "https://a.example", count: 40 },
      { tenant: t, ts: minutesAgo(5), reason: "origin_not_allowed", origin: "https://b.example", count: 2 },
      { tenant: t, ts: minutesAgo(5), reason: "credentials_forbidden", origin: "https://b.example" },
      {
        tenant: t,
        ts: minutesAgo(30),
        decision: "report_only",
        reason: "origin_not_allowed",
        origin: "https://c.example",
      },
      // Not handshakes, or outside the hour: not counted.
      { tenant: t, ts: minutesAgo(1), kind: "close", decision: "accepted", reason: "allowed", count: 7 },
      { tenant: t, ts: minutesAgo(90), reason: "origin_not_allowed", origin: "https://old.example", count: 1000 },
      { tenant: slug(), ts: minutesAgo(0), reason: "origin_not_allowed", origin: "https://a.example", count: 99 },
    ]);
    const hour = await getAuditStats({ db: pool, tenant: t, window: "hour", now });
    expect(hour.bucketSeconds).toBe(60);
    expect(hour.timeline).toHaveLength(60);
    expect(hour.timeline.at(-1)!.bucket).toBe("2030-05-01T12:30:00.000Z");
    expect(hour.timeline[0]!.bucket).toBe("2030-05-01T11:31:00.000Z");
    const sum = (k: "accepted" | "rejected" | "reportOnly") => hour.timeline.reduce((n, b) => n + b[k], 0);
    expect([sum("accepted"), sum("rejected"), sum("reportOnly")]).toEqual([3, 43, 1]);
    expect(hour.timeline.at(-1)).toMatchObject({ accepted: 3, rejected: 40 });
    expect(hour.timeline.at(-6)).toMatchObject({ rejected: 3 });
    expect(hour.topRejected).toEqual([
      {
        origin: "https://a.example",
        tenant: t,
        count: 40,
        lastSeen: minutesAgo(0).toISOString(),
        reasons: ["origin_not_allowed"],
      },
      {
        origin: "https://b.example",
        tenant: t,
        count: 3,
        lastSeen: minutesAgo(5).toISOString(),
        reasons: ["credentials_forbidden", "origin_not_allowed"],
      },
    ]);

    const day = await getAuditStats({ db: pool, tenant: t, window: "day", now });
    expect(day.bucketSeconds).toBe(1800);
    expect(day.timeline).toHaveLength(48);
    expect(day.timeline.reduce((n, b) => n + b.rejected, 0)).toBe(1043);
    expect(day.topRejected[0]).toMatchObject({ origin: "https://old.example", count: 1000 });
  });
});

describe("export (GET /api/v1/audit/export)", () => {
  const nasty: Seed[] = [
    { origin: '=HYPERLINK("http://evil.example","click")', originNormalized: null, reason: "origin_malformed" },
    { origin: "https://a.example", userAgent: "+cmd|' /C calc'!A0", path: "/x,y" },
    { origin: "https://b.example", userAgent: "-2+3", path: '/say "hi"' },
    { origin: "https://c.example", userAgent: "@SUM(1+1)*cmd|' /C calc'!A0", path: "/multi\r\nline" },
    { origin: "https://d.example", userAgent: "\t=1+1", details: { note: '=1+1, "quoted"' } },
  ];

  it("writes RFC 4180 CSV with every column, defusing formula-like cells", async () => {
    const t = slug();
    const ids = await seed(nasty.map((e) => ({ ...e, tenant: t })));
    const filter = { tenant: t };
    const text = await collect(auditExportChunks({ db: pool, filter, format: "csv" }));
    expect(text.endsWith("\r\n")).toBe(true);
    const rows = parseCsv(text);
    expect(rows[0]).toEqual([...AUDIT_CSV_COLUMNS]);
    expect(rows).toHaveLength(1 + nasty.length);
    const col = (name: (typeof AUDIT_CSV_COLUMNS)[number]) => AUDIT_CSV_COLUMNS.indexOf(name);
    const byId = new Map(rows.slice(1).map((r) => [r[col("id")], r]));
    expect(rows.slice(1).map((r) => r[col("id")])).toEqual([...ids].reverse());
    for (const r of rows.slice(1)) expect(r).toHaveLength(AUDIT_CSV_COLUMNS.length);

    expect(byId.get(ids[0])![col("origin")]).toBe(`'=HYPERLINK("http://evil.example","click")`);
    expect(byId.get(ids[0])![col("originNormalized")]).toBe("");
    expect(byId.get(ids[1])![col("userAgent")]).toBe("'+cmd|' /C calc'!A0");
    expect(byId.get(ids[1])![col("path")]).toBe("/x,y");
    expect(byId.get(ids[2])![col("userAgent")]).toBe("'-2+3");
    expect(byId.get(ids[2])![col("path")]).toBe('/say "hi"');
    expect(byId.get(ids[3])![col("userAgent")]).toBe("'@SUM(1+1)*cmd|' /C calc'!A0");
    expect(byId.get(ids[3])![col("path")]).toBe("/multi\r\nline");
    expect(byId.get(ids[4])![col("userAgent")]).toBe("'\t'=1+1");
    expect(JSON.parse(byId.get(ids[4])![col("details")]!)).toEqual({ note: '=1+1, "quoted"' });
    // Numbers stay numbers; nothing else gets a quote mark.
    expect(byId.get(ids[1])![col("count")]).toBe("1");
    expect(byId.get(ids[1])![col("origin")]).toBe("https://a.example");
    // No cell, as a spreadsheet reads it, starts a formula.
    for (const r of rows.slice(1)) for (const cell of r) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    expect(csvCell(-5)).toBe("-5");
  });

  it("writes NDJSON: one event per line, the same objects the search returns", async () => {
    const t = slug();
    await seed(nasty.map((e) => ({ ...e, tenant: t })));
    const text = await collect(auditExportChunks({ db: pool, filter: { tenant: t }, format: "ndjson" }));
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(nasty.length);
    const search = await searchAuditEvents({ db: pool, query: { tenant: t } });
    expect(lines.map((l) => JSON.parse(l))).toEqual(search.events);
  });

  it("stops at the cap with a marker naming where to continue, and continuing finishes the result", async () => {
    const t = slug();
    const ids = await seed(Array.from({ length: 15 }, () => ({ tenant: t })));
    const newestFirst = [...ids].reverse();
    const csv = await collect(
      auditExportChunks({ db: pool, filter: { tenant: t }, format: "csv", maxRows: 10, pageSize: 4 }),
    );
    const lines = csv.trimEnd().split("\r\n");
    expect(lines).toHaveLength(1 + 10 + 1);
    expect(lines.slice(1, 11).map((l) => l.split(",")[0])).toEqual(newestFirst.slice(0, 10));
    const marker =
      /^# truncated: export stopped at 10 rows and more events match; continue with cursor=(\d+_(\d+)) \(or narrow the filters\)$/.exec(
        lines.at(-1)!,
      );
    expect(marker?.[2]).toBe(newestFirst[9]);
    const continueFrom = marker![1]!;

    const nd = await collect(
      auditExportChunks({ db: pool, filter: { tenant: t }, format: "ndjson", maxRows: 10, pageSize: 3 }),
    );
    const records = nd
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(records).toHaveLength(11);
    expect(records.at(-1)).toMatchObject({ truncated: true, rows: 10, nextCursor: continueFrom });

    const rest = await collect(
      auditExportChunks({ db: pool, filter: { tenant: t, cursor: continueFrom }, format: "ndjson", maxRows: 10 }),
    );
    expect(
      rest
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l).id),
    ).toEqual(newestFirst.slice(10));

    // Exactly at the cap: complete, no marker.
    const exact = await collect(
      auditExportChunks({ db: pool, filter: { tenant: t }, format: "csv", maxRows: 15, pageSize: 4 }),
    );
    expect(exact).not.toContain("# truncated");
    expect(exact.trimEnd().split("\r\n")).toHaveLength(16);
  });

  it("streams as bytes, and validates the query before anything is written", async () => {
    const t = slug();
    await seed([{ tenant: t, origin: "https://é.example", originNormalized: "https://xn--9ca.example" }]);
    const text = await new Response(exportAuditEvents({ db: pool, filter: { tenant: t }, format: "ndjson" })).text();
    expect(JSON.parse(text.trim()).origin).toBe("https://é.example");
    expect(auditExportQuery.safeParse({ format: "xlsx" }).success).toBe(false);
    expect(auditExportQuery.safeParse({ format: "csv", limit: "10" }).success).toBe(false);
    expect(auditExportQuery.parse({ format: "csv", tenant: t, cursor: "1700000000000_5" })).toEqual({
      format: "csv",
      tenant: t,
      cursor: "1700000000000_5",
    });
    expect(auditExportQuery.safeParse({ format: "csv", cursor: "5" }).success).toBe(false);
  });
});

describe("stream token (POST /api/v1/audit/stream-token)", () => {
  it("is a 60 s stream-scoped admin token for the principal, with the gateway's public URL", async () => {
    const saved = { db: process.env.DATABASE_URL, gw: process.env.GATEWAY_PUBLIC_URL };
    process.env.DATABASE_URL = url;
    process.env.GATEWAY_PUBLIC_URL = "wss://gateway.example.test";
    try {
      const { mintStreamToken } = await import("../../app/_lib/audit/mint-stream-token");
      const grant = await mintStreamToken({
        principal: {
          kind: "user",
          id: "u1",
          email: "v@example.com",
          name: "V",
          role: "viewer",
          label: "v@example.com",
          sessionId: "s1",
          tenant: null,
          secondFactorPending: false,
        },
      });
      expect(grant.url).toBe("wss://gateway.example.test/admin/stream");
      expect(grant.protocol).toBe(STREAM_PROTOCOL);
      expect(grant.expiresInSeconds).toBe(60);
      const key = await getOrCreateSecretSetting(pool, SETTING_ADMIN_TOKEN_KEY, configuredSecretBox());
      expect(verifyAdminToken(grant.token, key, "stream")).toEqual({
        ok: true,
        claims: {
          sub: "u1",
          kind: "user",
          sid: "s1",
          role: "viewer",
          scope: "stream",
          name: "v@example.com",
          jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
          exp: expect.any(Number),
        },
      });
      expect(verifyAdminToken(grant.token, key, "tester").ok).toBe(false);
    } finally {
      process.env.DATABASE_URL = saved.db;
      process.env.GATEWAY_PUBLIC_URL = saved.gw;
      if (saved.db === undefined) delete process.env.DATABASE_URL;
      if (saved.gw === undefined) delete process.env.GATEWAY_PUBLIC_URL;
    }
    expect(STREAM_SUBPROTOCOL).toBe(STREAM_PROTOCOL);
  });
});

describe("allowAuditOrigin (POST /api/v1/audit/<id>/allow)", () => {
  it("adds exactly the event's origin as one new entry in a new revision that names the event", async () => {
    const t = await newTenant(["https://app.example.com", { pattern: "https://*.partner.example", note: "partners" }]);
    const before = await getPolicy({ db: prisma, slug: t });
    const [id] = await seed([
      { tenant: t, origin: "HTTPS://Admin.Example.com:8443", originNormalized: "https://admin.example.com:8443" },
    ]);
    const result = await allowAuditOrigin({ db: prisma, auditDb: pool, eventId: id!, actor });
    expect(result).toMatchObject({
      eventId: id,
      tenant: t,
      origin: "https://admin.example.com:8443",
      version: 2,
      previousVersion: 1,
      note: `allowed from audit event #${id}`,
      comment: `Allow https://admin.example.com:8443 from audit event #${id}`,
    });

    const after = await getPolicy({ db: prisma, slug: t });
    expect(after.version).toBe(2);
    expect(after.origins).toEqual([
      ...before.origins,
      { pattern: "https://admin.example.com:8443", note: `allowed from audit event #${id}`, expiresAt: null },
    ]);
    const { version: _v1, origins: _o1, ...restBefore } = before;
    const { version: _v2, origins: _o2, ...restAfter } = after;
    expect(restAfter).toEqual(restBefore);

    const { revisions } = await listRevisions({ db: prisma, slug: t });
    expect(revisions.map((r) => [r.version, r.author, r.comment])).toEqual([
      [2, actor.label, `Allow https://admin.example.com:8443 from audit event #${id}`],
      [1, actor.label, "Tenant created"],
    ]);
    // What the gateway loads now contains it.
    const tenantRow = await prisma.tenant.findUniqueOrThrow({ where: { slug: t } });
    const loaded = await loadPolicy(pool, tenantRow.id);
    expect(loaded?.version).toBe(2);
    expect(loaded?.document.origins.map((o) => o.pattern)).toContain("https://admin.example.com:8443");
  });

  it("says 409 already_allowed when a live pattern covers the origin, and changes nothing", async () => {
    const t = await newTenant(["https://*.example.org"]);
    const [byWildcard] = await seed([{ tenant: t, origin: "https://x.example.org" }]);
    const error = await rejection(allowAuditOrigin({ db: prisma, auditDb: pool, eventId: byWildcard!, actor }));
    expect(error.code).toBe("already_allowed");
    expect(error.status).toBe(409);
    expect(error.message).toContain("https://*.example.org");

    // Allowing twice: the second is already_allowed.
    const [first] = await seed([{ tenant: t, origin: "https://other.example" }]);
    await allowAuditOrigin({ db: prisma, auditDb: pool, eventId: first!, actor });
    const again = await rejection(allowAuditOrigin({ db: prisma, auditDb: pool, eventId: first!, actor }));
    expect(again.code).toBe("already_allowed");
    expect(again.message).toContain("already on the allowlist");
    expect((await getPolicy({ db: prisma, slug: t })).version).toBe(2);
  });

  it("refuses events that allowing the origin would not fix, saying why (422)", async () => {
    const t = await newTenant(["https://app.example.com"]);
    const cases: Array<[Seed, RegExp]> = [
      [
        { reason: "credentials_forbidden", origin: "https://app.example.com" },
        /credentials_forbidden.*not for its origin \(https:\/\/app\.example\.com had passed the allowlist\); allowing the origin would not change that/,
      ],
      [{ reason: "token_invalid", origin: "https://app.example.com" }, /token_invalid.*would not change that/],
      [{ reason: "rate_limited", origin: "https://x.example" }, /rate_limited.*not for its origin; allowing/],
      [{ reason: "origin_missing", origin: null, originNormalized: null }, /no Origin header/],
      [{ reason: "origin_null", origin: "null", originNormalized: "null" }, /opaque "null" origin/],
      [{ reason: "origin_malformed", origin: "https://x.example/p", originNormalized: null }, /malformed/],
      [{ decision: "accepted", reason: "allowed", origin: "https://app.example.com" }, /passed the policy/],
      [{ kind: "close", decision: "accepted", reason: "allowed", closeCode: 1000 }, /close event, not a handshake/],
      [{ kind: "tester", decision: "accepted", reason: "tester_handshake" }, /tester event/],
      [{ reason: "origin_not_allowed", origin: "https://x.example", originNormalized: null }, /no well-formed origin/],
      [{ reason: "origin_not_allowed", tenant: null, origin: "https://x.example" }, /names no tenant/],
    ];
    for (const [event, message] of cases) {
      const [id] = await seed([{ tenant: t, ...event }]);
      const error = await rejection(allowAuditOrigin({ db: prisma, auditDb: pool, eventId: id!, actor }));
      expect(error.status, JSON.stringify(event)).toBe(422);
      expect(error.code).toBe("validation_failed");
      expect(error.message).toMatch(message);
      expect(error.message).toContain(`#${id}`);
      expect(error.details).toEqual([{ path: "event", message: expect.any(String) }]);
    }
    expect((await getPolicy({ db: prisma, slug: t })).version).toBe(1);
  });

  it("accepts a report-only flag for origin_not_allowed (the origin is what enforce would refuse)", async () => {
    const t = await newTenant([]);
    const [id] = await seed([{ tenant: t, decision: "report_only", origin: "https://ro.example" }]);
    expect((await allowAuditOrigin({ db: prisma, auditDb: pool, eventId: id!, actor })).version).toBe(2);
  });

  it("uses optimistic concurrency: a stale expectedVersion is 409 version_conflict and nothing is saved", async () => {
    const t = await newTenant(["https://app.example.com"]);
    const [id] = await seed([{ tenant: t, origin: "https://late.example" }]);
    // Someone else saves version 2 after the user looked at version 1.
    await savePolicy({
      db: prisma,
      slug: t,
      expectedVersion: 1,
      document: doc(["https://app.example.com", "https://else.example"]),
      actor: { id: null, label: "other@example.com" },
    });
    const error = await rejection(
      allowAuditOrigin({ db: prisma, auditDb: pool, eventId: id!, expectedVersion: 1, actor }),
    );
    expect(error.code).toBe("version_conflict");
    expect(error.status).toBe(409);
    expect((error.details as { currentVersion: number }).currentVersion).toBe(2);
    expect((await getPolicy({ db: prisma, slug: t })).origins.map((o) => o.pattern)).toEqual([
      "https://app.example.com",
      "https://else.example",
    ]);
    // With the version the user now sees, it goes through.
    const ok = await allowAuditOrigin({ db: prisma, auditDb: pool, eventId: id!, expectedVersion: 2, actor });
    expect(ok.version).toBe(3);
  });

  it("is 404 for unknown or non-numeric ids and for a tenant deleted since; 409 for an expired exact entry", async () => {
    expect(
      (await rejection(allowAuditOrigin({ db: prisma, auditDb: pool, eventId: "999999999999", actor }))).status,
    ).toBe(404);
    expect((await rejection(allowAuditOrigin({ db: prisma, auditDb: pool, eventId: "12abc", actor }))).status).toBe(
      404,
    );
    expect(
      (await rejection(allowAuditOrigin({ db: prisma, auditDb: pool, eventId: "99999999999999999999", actor }))).status,
    ).toBe(404);

    const gone = await newTenant([]);
    const [goneId] = await seed([{ tenant: gone, origin: "https://x.example" }]);
    await deleteTenant({ db: prisma, slug: gone });
    const error = await rejection(allowAuditOrigin({ db: prisma, auditDb: pool, eventId: goneId!, actor }));
    expect(error.status).toBe(404);
    expect(error.message).toContain("no longer exists");

    const t = await newTenant([
      { pattern: "https://exp.example", expiresAt: new Date(Date.now() + 60_000).toISOString() },
    ]);
    const [expId] = await seed([{ tenant: t, origin: "https://exp.example" }]);
    const later = new Date(Date.now() + 120_000);
    const expired = await rejection(
      allowAuditOrigin({ db: prisma, auditDb: pool, eventId: expId!, actor, now: later }),
    );
    expect(expired.code).toBe("conflict");
    expect(expired.message).toMatch(/expired .*renew it in the allowlist editor/);
    expect((await getPolicy({ db: prisma, slug: t })).version).toBe(1);
  });
});

describe("allow this origin, against a real gateway", () => {
  it("the refused handshake is recorded, allowed from its event, and the next one from that origin succeeds", async () => {
    const t = await newTenant(["https://app.example.com"]);
    const gw = await startGateway(url);
    try {
      const origin = "https://newly.example.net";
      const endpoint = `${gw.wsUrl}/t/${t}/socket`;
      expect(await expectRefusal(endpoint, { origin })).toMatchObject({ status: 403, reason: "origin_not_allowed" });
      const event = await eventually(
        async () =>
          (await searchAuditEvents({ db: pool, query: { tenant: t, reason: "origin_not_allowed" } })).events[0],
        10_000,
      );
      expect(event.originNormalized).toBe(origin);
      await allowAuditOrigin({ db: prisma, auditDb: pool, eventId: event.id, expectedVersion: 1, actor });
      const accepted = await eventually(async () => {
        const outcome = await handshake(endpoint, { origin });
        outcome.ws?.close();
        return outcome.status === 101 ? outcome : null;
      }, 10_000);
      expect(accepted.status).toBe(101);
      // A lookalike is still refused: the entry is the exact origin.
      expect((await expectRefusal(endpoint, { origin: "https://evil.newly.example.net" })).status).toBe(403);
    } finally {
      await gw.stop();
    }
  });
});
