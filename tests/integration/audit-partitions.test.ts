/**
 * The partitioned audit table (SPEC §6), against real Postgres:
 *  - the migration converts an existing `audit_event` with its rows: a database migrated up
 *    to the migration before it, filled with rows over several days (and one far in the past,
 *    one far in the future, a `dropped` row, details) plus a column and a partial index that
 *    another migration could have added, then migrated the rest of the way: every row is
 *    there with the same id and values, the extra column and index came along, ids go on
 *    increasing, the live stream's id order resumes across partitions, and ADD COLUMN on the
 *    parent reaches every partition;
 *  - upkeep (server/audit/partitions.ts): partitions ahead, rows of the default partition
 *    moved into their day's partition, retention by dropping whole partitions (never a
 *    DELETE: the rows of kept days are untouched), the default partition trimmed by
 *    replacement, one process at a time (advisory lock);
 *  - the gateway's writer puts events of any time into the table (default partition included).
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetrics } from "../../server/admin/metrics";
import {
  AHEAD_DAYS,
  AUDIT_PARTITION_LOCK_KEY,
  listAuditPartitions,
  maintainAuditPartitions,
} from "../../server/audit/partitions";
import { AuditPipeline } from "../../server/audit/pipeline";
import { auditAfter, latestAuditId, searchAudit } from "../../server/db/audit-queries";
import { createScratchDatabase, databaseName, dropDatabase } from "../../server/db/pg-server";
import { createPool } from "../../server/db/pool";
import { applyMigrations, readMigrations } from "../../server/db/schema-engine";
import { createLogger } from "../../server/log";
import { migrateThrough } from "../helpers/migrations";
import { createTestDatabase, testEnv } from "../helpers/test-db";

const DAY = 86_400_000;
const logger = createLogger({ name: "test-partitions", level: "silent" });

function utcDayStart(ms: number): number {
  return Math.floor(ms / DAY) * DAY;
}

function partitionName(ms: number): string {
  return `audit_event_p${new Date(utcDayStart(ms)).toISOString().slice(0, 10).replace(/-/g, "")}`;
}

async function partitionOf(pool: pg.Pool, id: string): Promise<string> {
  const { rows } = await pool.query<{ part: string }>(
    "select tableoid::regclass::text as part from audit_event where id = $1",
    [id],
  );
  return rows[0]!.part;
}

describe("the migration to a partitioned audit_event", () => {
  let url: string;
  let pool: pg.Pool;
  const now = Date.now();

  beforeAll(async () => {
    url = await createScratchDatabase(testEnv().adminUrl, `${testEnv().prefix}_partmig`);
    const folders = await readMigrations();
    const index = folders.findIndex((f) => f.name.endsWith("_audit_event_partitioned"));
    expect(index).toBeGreaterThan(0);
    await migrateThrough(url, folders[index - 1]!.name);
    pool = createPool(url, { max: 2 });
  });

  afterAll(async () => {
    await pool?.end();
    await dropDatabase(testEnv().adminUrl, databaseName(url));
  });

  it("keeps every row, id and value, and the columns and indexes other migrations added", async () => {
    // What another engineer's migration could have added before this one.
    await pool.query("alter table audit_event add column replay_note text not null default 'none'");
    await pool.query(
      "create index audit_event_replay_note_ts_idx on audit_event (replay_note, ts) where replay_note <> 'none'",
    );
    const times = [
      now - 3 * DAY,
      now - 2 * DAY - 3_600_000,
      now - DAY,
      now - 60_000,
      now,
      Date.parse("2001-02-03T04:05:06.789Z"), // far past: no partition is made for it
      Date.parse("2099-06-01T12:00:00.000Z"), // far future: neither
    ];
    for (let i = 0; i < 70; i++) {
      const ts = new Date(times[i % times.length]! + i);
      const dropped = i === 13;
      await pool.query(
        `insert into audit_event (ts, gateway_id, kind, tenant, decision, reason, origin, origin_normalized, count, details, replay_note)
         values ($1, 'gw-old', $2, 'conv', $3, $4, $5, $5, $6, $7, $8)`,
        [
          ts,
          dropped ? "dropped" : "handshake",
          dropped ? null : i % 3 === 0 ? "rejected" : "accepted",
          dropped ? null : i % 3 === 0 ? "origin_not_allowed" : "allowed",
          dropped ? null : `https://o${i % 5}.example.com`,
          dropped ? 7 : 1,
          dropped ? JSON.stringify({ cause: "queue_full" }) : null,
          i % 10 === 0 ? "seen-before" : "none",
        ],
      );
    }
    const before = await pool.query<{ id: string; row: string }>(
      "select id::text as id, row_to_json(a)::text as row from audit_event a order by a.id",
    );
    expect(before.rows).toHaveLength(70);

    const applied = await applyMigrations(url);
    expect(applied.some((name) => name.endsWith("_audit_event_partitioned"))).toBe(true);

    const { rows: kind } = await pool.query<{ relkind: string; key: string }>(
      "select relkind::text, pg_get_partkeydef(oid) as key from pg_class where relname = 'audit_event'",
    );
    expect(kind[0]).toEqual({ relkind: "p", key: "RANGE (ts)" });
    const after = await pool.query<{ id: string; row: string }>(
      "select id::text as id, row_to_json(a)::text as row from audit_event a order by a.id",
    );
    // Every row, id and value as it was; columns later migrations add (shadow and replay facts) are null.
    const beforeRows = before.rows.map((r) => ({ id: r.id, row: JSON.parse(r.row) as Record<string, unknown> }));
    const columns = Object.keys(beforeRows[0]!.row);
    const afterRows = after.rows.map((r) => ({ id: r.id, row: JSON.parse(r.row) as Record<string, unknown> }));
    expect(afterRows.map((r) => ({ id: r.id, row: Object.fromEntries(columns.map((c) => [c, r.row[c]])) }))).toEqual(
      beforeRows,
    );
    for (const r of afterRows) {
      for (const [column, value] of Object.entries(r.row))
        if (!columns.includes(column)) expect(value, column).toBeNull();
    }

    // Each day's rows in that day's partition; the far ones in the default partition.
    const byId = new Map(before.rows.map((r) => [r.id, JSON.parse(r.row) as { ts: string }]));
    for (const [id, row] of byId) {
      const ts = Date.parse(row.ts);
      const expected = Math.abs(ts - now) < 30 * DAY ? partitionName(ts) : "audit_event_default";
      expect(await partitionOf(pool, id), `row ${id} at ${row.ts}`).toBe(expected);
    }
    const partitions = await listAuditPartitions(pool);
    for (let d = -1; d <= AHEAD_DAYS; d++) {
      expect(partitions.map((p) => p.name)).toContain(partitionName(now + d * DAY));
    }

    const { rows: keys } = await pool.query<{ def: string }>(
      "select pg_get_constraintdef(oid) as def from pg_constraint where conrelid = 'audit_event'::regclass and contype = 'p'",
    );
    expect(keys.map((k) => k.def)).toEqual(["PRIMARY KEY (id, ts)"]);
    const { rows: extra } = await pool.query<{ def: string }>(
      "select indexdef as def from pg_indexes where tablename = 'audit_event' and indexname = 'audit_event_replay_note_ts_idx'",
    );
    expect(extra[0]?.def).toContain("WHERE (replay_note <> 'none'::text)");
    const { rows: columnDefaults } = await pool.query<{ c: string; d: string }>(
      `select column_name as c, column_default as d from information_schema.columns
        where table_name = 'audit_event' and column_name in ('replay_note', 'via') order by 1`,
    );
    expect(columnDefaults).toEqual([
      { c: "replay_note", d: "'none'::text" },
      { c: "via", d: "'gateway'::audit_via" },
    ]);
  });

  it("goes on with increasing ids, resumes the live stream in id order, and takes new columns everywhere", async () => {
    const maxBefore = await latestAuditId(pool);
    const { rows: inserted } = await pool.query<{ id: string }>(
      `insert into audit_event (ts, gateway_id, kind, tenant, decision, reason)
       values (now(), 'gw-new', 'handshake', 'conv', 'accepted', 'allowed'),
              ('2101-01-01', 'gw-new', 'handshake', 'conv', 'accepted', 'allowed')
       returning id::text as id`,
    );
    expect(BigInt(inserted[0]!.id)).toBeGreaterThan(BigInt(maxBefore));
    expect(BigInt(inserted[1]!.id)).toBeGreaterThan(BigInt(inserted[0]!.id));

    // The stream's resume: after any id, the rest in id order, across partitions and the default one.
    const all = (await pool.query<{ id: string }>("select id::text as id from audit_event a order by a.id")).rows.map(
      (r) => r.id,
    );
    const resumedAt = all[20]!;
    const page1 = await auditAfter(pool, resumedAt, 25);
    const page2 = await auditAfter(pool, page1.at(-1)!.id, 1000);
    expect([...page1, ...page2].map((e) => e.id)).toEqual(all.slice(21));
    expect(await latestAuditId(pool)).toBe(inserted[1]!.id);

    // The history still pages newest first across partitions.
    const history = await searchAudit(pool, { tenant: "conv", limit: 1000 });
    expect(history.events.map((e) => e.ts)).toEqual([...history.events.map((e) => e.ts)].sort().reverse());
    expect(history.events).toHaveLength(all.length);

    await pool.query("alter table audit_event add column later_column text");
    const { rows: parts } = await pool.query<{ n: number }>(
      `select count(*)::int as n from pg_inherits i join pg_attribute a on a.attrelid = i.inhrelid
        where i.inhparent = 'audit_event'::regclass and a.attname = 'later_column' and not a.attisdropped`,
    );
    expect(parts[0]!.n).toBe((await listAuditPartitions(pool)).length);
  });
});

describe("audit partition upkeep", () => {
  let url: string;
  let pool: pg.Pool;

  beforeAll(async () => {
    url = await createTestDatabase("parts");
    pool = createPool(url, { max: 3 });
  });

  afterAll(async () => {
    await pool?.end();
  });

  async function insertAt(ts: number, tenant = "keep"): Promise<string> {
    const { rows } = await pool.query<{ id: string }>(
      `insert into audit_event (ts, gateway_id, kind, tenant, decision, reason)
       values ($1, 'gw-t', 'handshake', $2, 'accepted', 'allowed') returning id::text as id`,
      [new Date(ts), tenant],
    );
    return rows[0]!.id;
  }

  it("the gateway's writer stores events of any time (default partition included)", async () => {
    const pipeline = new AuditPipeline({ pool, gatewayId: "gw-parts", logger, metrics: createMetrics() });
    const base = {
      kind: "handshake" as const,
      tenant: "writer",
      decision: "accepted" as const,
      reason: "allowed",
      origin: null,
      originNormalized: null,
      remoteAddr: "192.0.2.1",
      userAgent: null,
      path: "/",
      subprotocol: null,
      policyVersion: 1,
      matchedPattern: null,
    };
    for (const ts of [Date.now(), Date.parse("1999-12-31T23:59:59Z"), Date.parse("2200-01-01T00:00:00Z")]) {
      pipeline.record({ ...base, ts });
    }
    await pipeline.stop();
    expect(pipeline.totals).toMatchObject({ recorded: 3, written: 3, dropped: 0 });
    const { rows } = await pool.query<{ part: string }>(
      "select tableoid::regclass::text as part from audit_event where tenant = 'writer' order by ts",
    );
    expect(rows.map((r) => r.part)).toEqual(["audit_event_default", partitionName(Date.now()), "audit_event_default"]);
  });

  it("creates partitions ahead, moves rows out of the default partition, drops whole expired partitions", async () => {
    const realNow = Date.now();
    // Rows in partitions the migration made (around the real today).
    const today = await insertAt(realNow);
    const yesterday = await insertAt(realNow - DAY);
    // Rows of days 20 and 45 days ahead: no partition yet, so the default partition holds them.
    const in20 = await insertAt(realNow + 20 * DAY);
    const in45 = await insertAt(realNow + 45 * DAY);
    // A row older than any retention: default partition.
    const ancient = await insertAt(Date.parse("2000-01-01T00:00:00Z"));
    for (const id of [in20, in45, ancient]) expect(await partitionOf(pool, id)).toBe("audit_event_default");

    // The clock moves 25 days on; keep 10 days.
    const later = realNow + 25 * DAY;
    const { rows: expiring } = await pool.query<{ n: number }>(
      "select count(*)::int as n from audit_event_default where ts < $1",
      [new Date(later - 10 * DAY)],
    );
    const pass = await maintainAuditPartitions({ pool, retentionDays: 10, now: new Date(later), logger });
    expect(pass.ran).toBe(true);
    expect(pass.errors).toEqual([]);
    const names = (await listAuditPartitions(pool)).map((p) => p.name);
    for (let d = -1; d <= AHEAD_DAYS; d++) expect(names).toContain(partitionName(later + d * DAY));
    // The row 20 days ahead of the real today is 5 days old now: kept, moved to its partition.
    expect(pass.created).toContain(partitionName(realNow + 20 * DAY));
    expect(await partitionOf(pool, in20)).toBe(partitionName(realNow + 20 * DAY));
    // 45 days ahead of the real today = 20 days ahead of the new today: stays in the default partition.
    expect(await partitionOf(pool, in45)).toBe("audit_event_default");
    // The partitions of the real today and yesterday are older than 10 days: dropped whole.
    expect(pass.dropped).toEqual(expect.arrayContaining([partitionName(realNow), partitionName(realNow - DAY)]));
    expect(names).not.toContain(partitionName(realNow));
    const { rows: gone } = await pool.query("select id from audit_event where id = any($1::bigint[])", [
      [today, yesterday, ancient],
    ]);
    expect(gone).toEqual([]);
    // The default partition was replaced without its expired row; the kept one is still there.
    expect(pass.defaultRowsExpired).toBe(expiring[0]!.n);
    expect(pass.defaultRowsExpired).toBeGreaterThanOrEqual(1);
    expect(await partitionOf(pool, in45)).toBe("audit_event_default");
    // Every partition left ends after the cutoff.
    for (const p of await listAuditPartitions(pool)) {
      if (p.to !== null) expect(p.to).toBeGreaterThan(later - 10 * DAY);
    }

    // A second pass has nothing left to do.
    const again = await maintainAuditPartitions({ pool, retentionDays: 10, now: new Date(later), logger });
    expect(again).toMatchObject({ ran: true, created: [], dropped: [], defaultRowsExpired: 0, errors: [] });

    // Writes still land where they belong, and the table is still one table to its readers.
    const fresh = await insertAt(later);
    expect(await partitionOf(pool, fresh)).toBe(partitionName(later));
    const history = await searchAudit(pool, { tenant: "keep", limit: 10 });
    expect(history.events.map((e) => e.id)).toEqual([in45, fresh, in20]);
  });

  it("runs in one process at a time: a pass that does not get the advisory lock does nothing", async () => {
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query("select pg_advisory_lock($1)", [AUDIT_PARTITION_LOCK_KEY]);
      const pass = await maintainAuditPartitions({
        pool,
        retentionDays: 1,
        now: new Date(Date.now() + 400 * DAY),
        logger,
      });
      expect(pass).toEqual({ ran: false, created: [], dropped: [], defaultRowsExpired: 0, errors: [] });
    } finally {
      await holder.end();
    }
  });
});
