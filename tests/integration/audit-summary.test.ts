/**
 * The audit summary (server/audit/summary.ts) against real Postgres: the overview (timeline,
 * top rejected origins) and origin substring/prefix and user-agent search give exactly what a scan of
 * audit_event gives — before any summary pass, after one, and with events written after the
 * watermark — and each event is summarized once (two passes at once, a pass with nothing new).
 */
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { summarizeAudit } from "../../server/audit/summary";
import { auditTimeline, searchAudit, topRejectedOrigins } from "../../server/db/audit-queries";
import { createPool } from "../../server/db/pool";
import { createTestDatabase } from "../helpers/test-db";

let pool: pg.Pool;
const HOUR = 3_600_000;
const now = Math.floor(Date.now() / 300_000) * 300_000;

beforeAll(async () => {
  pool = createPool(await createTestDatabase("summary"), { max: 3 });
});

afterAll(async () => {
  await pool?.end();
});

/** `n` events spread over the last `hours` hours, deterministic, some folded, some malformed. */
async function insertEvents(n: number, hours: number, seed: number): Promise<void> {
  await pool.query(
    `insert into audit_event (ts, last_ts, gateway_id, kind, tenant, decision, reason, origin, origin_normalized, count)
     select ts, case when g % 7 = 0 then ts + interval '1 second' end, 'gw-sum', kind, tenant, decision,
            case when decision = 'accepted' then 'allowed' when g % 3 = 0 then 'origin_missing' else 'origin_not_allowed' end,
            origin, case when g % 11 = 0 then null else origin end, case when g % 7 = 0 then 3 else 1 end
       from (
         select g, $1::timestamptz - (g % ($2::int * 60)) * interval '1 minute' - (g % 50) * interval '1 second' as ts,
                case when g % 5 = 0 then 'close' when g % 9 = 0 then 'http' else 'handshake' end::audit_kind as kind,
                case when g % 13 = 0 then null else 'sum-t' || (g % 3) end as tenant,
                case when g % 4 = 0 then 'accepted' when g % 17 = 0 then 'report_only' else 'rejected' end::audit_decision as decision,
                'https://o' || (g % 23) || '.Example-' || (g % 2) || '.net' as origin
           from generate_series($3::int, $3::int + $4::int - 1) as g
       ) as x`,
    [new Date(now), hours, seed, n],
  );
}

/** The overview computed by scanning audit_event, as the queries did before the summary existed. */
async function rawTimeline(since: Date, until: Date, bucketSeconds: number, tenant?: string) {
  const { rows } = await pool.query<{ bucket: Date; accepted: number; rejected: number; report_only: number }>(
    `select to_timestamp(floor(extract(epoch from ts) / $3) * $3) as bucket,
            coalesce(sum(count) filter (where decision = 'accepted'), 0)::int as accepted,
            coalesce(sum(count) filter (where decision = 'rejected'), 0)::int as rejected,
            coalesce(sum(count) filter (where decision = 'report_only'), 0)::int as report_only
       from audit_event where kind in ('handshake', 'http', 'preflight') and ts >= $1 and ts < $2 ${tenant ? "and tenant = $4" : ""}
      group by 1 order by 1`,
    tenant ? [since, until, bucketSeconds, tenant] : [since, until, bucketSeconds],
  );
  return rows.map((r) => ({
    bucket: r.bucket.toISOString(),
    accepted: r.accepted,
    rejected: r.rejected,
    reportOnly: r.report_only,
  }));
}

async function rawTop(since: Date, limit: number, tenant?: string) {
  const { rows } = await pool.query<{
    origin: string;
    tenant: string | null;
    count: number;
    last_seen: Date;
    reasons: string[];
  }>(
    `select coalesce(origin_normalized, origin, '(none)') as origin, tenant, sum(count)::int as count,
            max(coalesce(last_ts, ts)) as last_seen, array_agg(distinct reason order by reason) as reasons
       from audit_event where decision = 'rejected' and kind in ('handshake', 'http', 'preflight') and ts >= $1 ${tenant ? "and tenant = $3" : ""}
      group by 1, 2 order by 3 desc, coalesce(origin_normalized, origin, '(none)') collate "C", coalesce(tenant, '') collate "C" limit $2`,
    tenant ? [since, limit, tenant] : [since, limit],
  );
  return rows.map((r) => ({
    origin: r.origin,
    tenant: r.tenant,
    count: r.count,
    lastSeen: r.last_seen.toISOString(),
    reasons: r.reasons,
  }));
}

async function expectExact(): Promise<void> {
  const day = { since: new Date(now - 23 * HOUR - 1800_000), until: new Date(now + 1800_000), bucketSeconds: 1800 };
  for (const tenant of [undefined, "sum-t1"]) {
    expect(await auditTimeline(pool, { ...day, tenant })).toEqual(
      await rawTimeline(day.since, day.until, 1800, tenant),
    );
    // Windows that do not start on an hour: the events between `since` and the nearer hour
    // boundary are added (boundary after it, :50) or taken off its summarized hour (:10); and one on the hour.
    const hour = Math.floor(now / HOUR) * HOUR - 20 * HOUR;
    // The last of them is the overview's hour window (a few hours are aggregated whole).
    const recent = Math.floor(now / HOUR) * HOUR - HOUR + 10 * 60_000;
    for (const since of [
      new Date(hour + 10 * 60_000),
      new Date(hour + 50 * 60_000),
      new Date(hour),
      new Date(recent),
    ]) {
      for (const limit of [500, 5]) {
        expect(await topRejectedOrigins(pool, { since, limit, tenant }), `since ${since.toISOString()}`).toEqual(
          await rawTop(since, limit, tenant),
        );
      }
    }
  }
}

describe("the audit summary", () => {
  it("gives the overview exactly, before a pass, after passes, and with events after the watermark", async () => {
    await insertEvents(3000, 30, 1);
    await expectExact(); // nothing summarized: everything read from audit_event
    const first = await summarizeAudit({ pool, maxRows: 700 }); // several transactions
    expect(first).toMatchObject({ ran: true, rows: 3000, behind: false });
    await expectExact();
    await insertEvents(500, 3, 5000); // after the watermark
    await expectExact();
    const second = await summarizeAudit({ pool });
    expect(second.rows).toBe(500);
    await expectExact();
    expect(await summarizeAudit({ pool })).toMatchObject({ ran: true, rows: 0 });
    await expectExact();
  });

  it("counts each event once when passes race", async () => {
    await insertEvents(2000, 10, 9000);
    const { rows: pending } = await pool.query<{ n: number }>(
      "select count(*)::int as n from audit_event where id > (select last_id from audit_summary_state)",
    );
    const passes = await Promise.all([summarizeAudit({ pool }), summarizeAudit({ pool }), summarizeAudit({ pool })]);
    expect(passes.reduce((n, p) => n + p.rows, 0)).toBe(pending[0]!.n);
    await expectExact();
    const { rows } = await pool.query<{ summarized: string; events: string }>(
      `select (select sum(count) from audit_count where all_tenants)::text as summarized,
              (select sum(count) from audit_event where decision is not null)::text as events`,
    );
    expect(rows[0]!.summarized).toBe(rows[0]!.events);
  });

  it("finds origins by substring and prefix, case-insensitively, summarized or not", async () => {
    await pool.query(
      `insert into audit_event (ts, gateway_id, kind, tenant, decision, reason, origin, origin_normalized)
       values (now(), 'gw-sum', 'handshake', 'sum-new', 'rejected', 'origin_not_allowed', 'https://Fresh-50%.example', null)`,
    );
    const search = async (filter: { originContains?: string; originPrefix?: string }) =>
      (await searchAudit(pool, { ...filter, limit: 1000 })).events.map((e) => e.originNormalized ?? e.origin);
    const expected = async (pattern: string) =>
      (
        await pool.query<{ o: string }>(
          `select coalesce(origin_normalized, origin) as o from audit_event
            where coalesce(origin_normalized, origin) ilike $1 order by ts desc, id desc limit 1000`,
          [pattern],
        )
      ).rows.map((r) => r.o);
    // The new row is after the watermark: found by the pattern itself; the others through audit_origin.
    for (const [filter, pattern] of [
      [{ originContains: "EXAMPLE-1" }, "%example-1%"],
      [{ originContains: "o22." }, "%o22.%"],
      [{ originPrefix: "https://o1" }, "https://o1%"],
      [{ originContains: "50%" }, "%50\\%%"],
      [{ originContains: "fresh-50" }, "%fresh-50%"],
    ] as const) {
      expect(await search(filter), JSON.stringify(filter)).toEqual(await expected(pattern));
    }
    expect(await search({ originContains: "50%" })).toEqual(["https://Fresh-50%.example"]);
    await summarizeAudit({ pool });
    expect(await search({ originContains: "fresh-50" })).toEqual(["https://Fresh-50%.example"]);
    expect(await search({ originContains: "nothing-like-this" })).toEqual([]);
  });

  it("finds user agents by substring, case-insensitively, before and after the watermark", async () => {
    const insert = (userAgent: string, origin: string) =>
      pool.query(
        `insert into audit_event (ts, gateway_id, kind, tenant, decision, reason, origin, origin_normalized, user_agent)
         values (now(), 'gw-sum', 'handshake', 'sum-ua', 'rejected', 'origin_not_allowed', $2, $2, $1)`,
        [userAgent, origin],
      );
    await insert("curl/8.5.0", "https://a.example");
    await insert("OriginGate-Tester/1", "https://b.example");
    await insert("python-requests/2.31_x%", "https://a.example");
    await summarizeAudit({ pool });
    const { rows: dictionary } = await pool.query<{ user_agent: string; events: string }>(
      "select user_agent, events::text from audit_user_agent where user_agent in ('curl/8.5.0', 'OriginGate-Tester/1')",
    );
    expect(dictionary.map((r) => [r.user_agent, r.events]).sort()).toEqual([
      ["OriginGate-Tester/1", "1"],
      ["curl/8.5.0", "1"],
    ]);
    await insert("CURL/7.88.1", "https://b.example"); // after the watermark: found by the pattern
    await insert("originGate-tester/2", "https://a.example");
    await insert("curl/8.5.0", "https://a.example"); // after it too, a value the dictionary has: found once
    const search = async (filter: { userAgent: string; originContains?: string }) =>
      (await searchAudit(pool, { ...filter, tenant: "sum-ua", limit: 1000 })).events.map((e) => e.userAgent);
    expect(await search({ userAgent: "curl" })).toEqual(["curl/8.5.0", "CURL/7.88.1", "curl/8.5.0"]);
    expect(await search({ userAgent: "ORIGINGATE-TESTER" })).toEqual(["originGate-tester/2", "OriginGate-Tester/1"]);
    expect(await search({ userAgent: "_x%" })).toEqual(["python-requests/2.31_x%"]);
    expect(await search({ userAgent: "2.31.x" })).toEqual([]);
    expect(await search({ userAgent: "no such agent" })).toEqual([]);
    // With an origin substring too: both dictionaries resolve, each part applies both.
    expect(await search({ userAgent: "tester", originContains: "b.example" })).toEqual(["OriginGate-Tester/1"]);
    expect(await search({ userAgent: "curl", originContains: "b.example" })).toEqual(["CURL/7.88.1"]);
    expect(await search({ userAgent: "curl", originContains: "a.example" })).toEqual(["curl/8.5.0", "curl/8.5.0"]);
    await summarizeAudit({ pool });
    expect(await search({ userAgent: "curl" })).toEqual(["curl/8.5.0", "CURL/7.88.1", "curl/8.5.0"]);
    expect(await search({ userAgent: "tester", originContains: "a.example" })).toEqual(["originGate-tester/2"]);
  });

  it("gives the top rejected origins exactly when a tenant's refusals are spread flat (no early threshold)", async () => {
    // 200 origins, each refused in one hour of four, about equally often, over the last 20 hours:
    // each hour's 16 largest cannot decide the top 10, so the window is aggregated whole.
    await pool.query(
      `insert into audit_event (ts, gateway_id, kind, tenant, decision, reason, origin, origin_normalized, count)
       select $1::timestamptz - h * interval '1 hour' - (o % 50) * interval '1 minute', 'gw-sum', 'handshake',
              'sum-flat', 'rejected', 'origin_not_allowed', 'https://flat' || o || '.example',
              'https://flat' || o || '.example', 1 + (o * 7 + h) % 3
         from generate_series(1, 20) as h, generate_series(0, 199) as o where o % 4 = h % 4`,
      [new Date(now)],
    );
    await summarizeAudit({ pool });
    for (const hours of [6, 24]) {
      const since = new Date(now - hours * HOUR);
      expect(await topRejectedOrigins(pool, { since, limit: 10, tenant: "sum-flat" }), `${hours} h`).toEqual(
        await rawTop(since, 10, "sum-flat"),
      );
    }
  });
});
