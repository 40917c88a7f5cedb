/**
 * The impact preview's input (server/db/impact-queries.ts readReplayGroups, over the audit
 * summary's audit_replay rollup), against real Postgres:
 *  - it holds exactly the tuples a scan of audit_event gives (origin as sent or absent,
 *    credentials, token state, subprotocols, with counts), before any summary pass, after
 *    passes in several transactions, and with events written after the watermark — no tuple
 *    or origin lost, none miscounted — and the preview decided from it equals the preview
 *    decided from the scan's tuples;
 *  - read totals first (counts only for the origins a version admits), the preview is the
 *    same, and every group's total and variants are the scan's;
 *  - the migration that folded audit_replay's per-tuple rows into one row per (origin,
 *    subprotocols) with six counts, a total and a variants mask converts existing rows, and
 *    the summary then keeps adding to the converted rows.
 */
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { summarizeAudit } from "../../server/audit/summary";
import { readReplayGroups } from "../../server/db/impact-queries";
import { createScratchDatabase, databaseName, dropDatabase } from "../../server/db/pg-server";
import { createPool } from "../../server/db/pool";
import { applyMigrations } from "../../server/db/schema-engine";
import {
  compileForReplay,
  defaultPolicyDocument,
  parsePolicyDocument,
  type ReplayGroup,
  type ReplayGroupTotal,
  ReplayProbes,
  type ReplayTuple,
  replayGroups,
  replayImpact,
  replayVariantIndex,
  TOKEN_STATES,
  type TokenState,
} from "../../server/policy";
import { migrateThrough } from "../helpers/migrations";
import { scanReplayTuples } from "../helpers/replay-scan";
import { createTestDatabase, testEnv } from "../helpers/test-db";

const DAY = 86_400_000;
const TENANT = "rp-a";
const now = Date.now();

/** Tuples as comparable lines: origin|credentials|token|subprotocols -> count (unknown token states as invalid). */
function tupleLines(tuples: Iterable<ReplayTuple>): string[] {
  const sums = new Map<string, number>();
  for (const t of tuples) {
    const key = `${t.origin ?? "(none)"}|${t.credentials}|${t.tokenState}|${t.subprotocols.join(",")}`;
    sums.set(key, (sums.get(key) ?? 0) + t.count);
  }
  return [...sums].map(([key, count]) => `${key} -> ${count}`).sort();
}

/** The tuples of groups (each positive count is one tuple). */
function* expand(groups: Iterable<ReplayGroup | ReplayGroupTotal>): Generator<ReplayTuple> {
  for (const g of groups) {
    if (!("counts" in g)) throw new Error("a group without counts");
    for (let i = 0; i < 6; i++) {
      const count = g.counts[i] ?? 0;
      if (count > 0) {
        yield {
          origin: g.origin,
          subprotocols: g.subprotocols,
          credentials: i >= 3,
          tokenState: TOKEN_STATES[i % 3] as TokenState,
          count,
        };
      }
    }
  }
}

/** Per (origin, subprotocols): the total and which variants came (ReplayGroupTotal's shape), as lines. */
function totalLines(groups: Iterable<ReplayGroupTotal>): string[] {
  return [...groups]
    .map((g) => `${g.origin ?? "(none)"}|${g.subprotocols.join(",")} -> ${g.total} ${g.variants}`)
    .sort();
}

function totalsOf(tuples: Iterable<ReplayTuple>): ReplayGroupTotal[] {
  const groups = new Map<string, ReplayGroupTotal>();
  for (const t of tuples) {
    const key = JSON.stringify([t.origin, t.subprotocols]);
    const g = groups.get(key) ?? { origin: t.origin, subprotocols: t.subprotocols, total: 0, variants: 0 };
    g.total += t.count;
    g.variants |= 1 << replayVariantIndex(t.credentials, t.tokenState);
    groups.set(key, g);
  }
  return [...groups.values()];
}

/**
 * `n` handshakes (and some rows that are not replayed) over the last 3 days: two tenants,
 * origins with and without facts in common, absent, empty and malformed origins, folded counts, an
 * unknown token state, the tester's own handshakes and closes (both left out of replay).
 */
async function insertEvents(pool: pg.Pool, n: number, seed: number): Promise<void> {
  await pool.query(
    `insert into audit_event (ts, gateway_id, kind, via, tenant, decision, reason, origin, origin_normalized, count,
                              credentials, token_state, offered_subprotocols)
     select $1::timestamptz - (g % 4300) * interval '1 minute', 'gw-rp',
            case when g % 17 = 0 then 'close' else 'handshake' end::audit_kind,
            case when g % 19 = 0 then 'tester' when g % 5 = 0 then 'forward_auth' else 'gateway' end::audit_via,
            case when g % 3 = 0 then 'rp-b' else 'rp-a' end, 'rejected', 'origin_not_allowed',
            origin, origin, case when g % 7 = 0 then 4 else 1 end,
            (g / 2) % 5 = 0,
            (array['none', 'valid', 'invalid', 'none', 'revoked'])[1 + (g / 5) % 5],
            (array[null, '', 'chat', 'chat,v2'])[1 + (g / 11) % 4]
       from (
         select g, case when g % 23 = 0 then null
                        when g % 31 = 0 then ''
                        when g % 29 = 0 then 'https://bad' || (g % 3) || '.example/'
                        else 'https://o' || ((g * g) % 41) || '.example.net' end as origin
           from generate_series($2::int, $2::int + $3::int - 1) as g
       ) as x`,
    [new Date(now), seed, n],
  );
}

describe("audit_replay and readReplayGroups", () => {
  let pool: pg.Pool;

  beforeAll(async () => {
    pool = createPool(await createTestDatabase("replay"), { max: 3 });
  });

  afterAll(async () => {
    await pool?.end();
  });

  async function expectExact(since: Date): Promise<void> {
    const until = new Date(now + 60_000);
    const window = await readReplayGroups(pool, { tenant: TENANT, since, until });
    const scanned = await scanReplayTuples(pool, TENANT, window.since, until);
    expect(scanned.length).toBeGreaterThan(100); // the data has the variety the test needs
    expect(tupleLines(expand(window.groups))).toEqual(tupleLines(scanned));

    // The preview decided from the rollup's groups is the one decided from the scan's tuples.
    const origins = Array.from({ length: 41 }, (_, i) => `https://o${i}.example.net`);
    const active = parsePolicyDocument({
      ...defaultPolicyDocument(),
      origins: origins.filter((_, i) => i % 2 === 0).map((pattern) => ({ pattern })),
    });
    const draft = parsePolicyDocument({
      ...active,
      token: "required",
      missingOrigin: "allow", // clients without an Origin header need their tuples' counts
      credentials: "forbid",
      subprotocols: ["chat"],
      origins: origins.filter((_, i) => i % 3 === 0).map((pattern) => ({ pattern })),
    });
    const compiled = [
      compileForReplay(active, { version: 1, tenant: TENANT, now }),
      compileForReplay(draft, { version: 2, tenant: TENANT, now }),
    ] as const;
    const fromScan = replayImpact(...compiled, scanned, now);
    const fromRollup = replayGroups(new ReplayProbes(...compiled, now), window.groups);
    expect(fromRollup).toEqual(fromScan);
    expect(fromRollup.distinct).toBe(scanned.length);
    expect(fromRollup.newlyRefused.length).toBeGreaterThan(0);
    expect(fromRollup.newlyAllowed.length).toBeGreaterThan(0);

    // Totals first, counts for the origins a version admits (what previewImpact reads): the same preview.
    const probes = new ReplayProbes(...compiled, now);
    const needsCounts = (origin: string | null) => !probes.decidedByOrigin(origin);
    const twoStep = await readReplayGroups(pool, { tenant: TENANT, since, until, needsCounts });
    const counted = twoStep.groups.filter((g) => "counts" in g);
    expect(counted.length).toBeGreaterThan(0);
    expect(counted.length).toBeLessThan(twoStep.groups.length);
    expect(replayGroups(probes, twoStep.groups)).toEqual(fromScan);

    // Totals only: every group's total and variants are exactly the scan's.
    const totals = await readReplayGroups(pool, { tenant: TENANT, since, until, needsCounts: () => false });
    expect(totalLines(totals.groups as ReplayGroupTotal[])).toEqual(totalLines(totalsOf(scanned)));
  }

  it("holds exactly the scan's tuples before, during and after summary passes", async () => {
    await insertEvents(pool, 3000, 1);
    await expectExact(new Date(now - 7 * DAY)); // nothing summarized yet: all after the watermark
    await summarizeAudit({ pool, maxRows: 700, budgetMs: 60_000 }); // several transactions
    await insertEvents(pool, 1500, 5000); // after the watermark, into rows the rollup already has
    await expectExact(new Date(now - 7 * DAY));
    await expectExact(new Date(now - DAY)); // a window that leaves days out
    await summarizeAudit({ pool, budgetMs: 60_000 });
    await expectExact(new Date(now - 7 * DAY));
    // Unknown token states are stored as invalid; no row is all zeros.
    const { rows } = await pool.query<{ empty: string }>(
      `select count(*)::text as empty from audit_replay
        where token_none + token_valid + token_invalid + cred_token_none + cred_token_valid + cred_token_invalid = 0`,
    );
    expect(rows[0]?.empty).toBe("0");
  });

  it("a lost or miscounted rollup row shows as a difference from the scan", async () => {
    const since = new Date(now - 7 * DAY);
    const until = new Date(now + 60_000);
    const client = await pool.connect();
    try {
      await client.query("begin");
      const updated = await client.query(
        `update audit_replay set cred_token_valid = cred_token_valid + 1
          where (tenant, bucket, has_origin, origin, subprotocols) = (select tenant, bucket, has_origin, origin, subprotocols from audit_replay
                  where tenant = $1 and cred_token_valid > 0 order by bucket, origin, subprotocols limit 1)`,
        [TENANT],
      );
      expect(updated.rowCount).toBe(1);
      const miscounted = await readReplayGroups(client, { tenant: TENANT, since, until });
      const scanned = await scanReplayTuples(pool, TENANT, miscounted.since, until);
      expect(tupleLines(expand(miscounted.groups))).not.toEqual(tupleLines(scanned));
      const deleted = await client.query(
        `delete from audit_replay where tenant = $1 and origin = (select min(origin) from audit_replay where tenant = $1)`,
        [TENANT],
      );
      expect(deleted.rowCount).toBeGreaterThan(0);
      const lost = await readReplayGroups(client, { tenant: TENANT, since, until });
      expect(tupleLines(expand(lost.groups))).not.toEqual(tupleLines(scanned));
    } finally {
      await client.query("rollback");
      client.release();
    }
  });
});

describe("the migration folding audit_replay", () => {
  let url: string;
  let pool: pg.Pool;

  beforeAll(async () => {
    url = await createScratchDatabase(testEnv().adminUrl, `${testEnv().prefix}_replaymig`);
    await migrateThrough(url, "_impact_replay");
    pool = createPool(url, { max: 2 });
  });

  afterAll(async () => {
    await pool?.end();
    await dropDatabase(testEnv().adminUrl, databaseName(url));
  });

  it("folds every per-tuple row into its (origin, subprotocols) row, and the summary adds to it", async () => {
    const day = new Date(Math.floor(now / DAY) * DAY);
    const yesterday = new Date(day.getTime() - DAY);
    const seen = new Date(day.getTime() + 1000);
    const old = (
      tenant: string,
      bucket: Date,
      origin: string | null,
      credentials: boolean,
      token: string,
      subprotocols: string,
      count: number,
    ) =>
      pool.query(
        `insert into audit_replay (tenant, bucket, has_origin, origin, credentials, token_state, subprotocols, count, last_seen)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [tenant, bucket, origin !== null, origin ?? "", credentials, token, subprotocols, count, seen],
      );
    const A = "https://a.example";
    await old(TENANT, day, A, false, "none", "", 5);
    await old(TENANT, day, A, false, "valid", "", 6);
    await old(TENANT, day, A, false, "invalid", "", 7);
    await old(TENANT, day, A, true, "none", "", 8);
    await old(TENANT, day, A, true, "valid", "", 9);
    await old(TENANT, day, A, true, "invalid", "", 10);
    await old(TENANT, day, A, true, "revoked", "", 1); // unknown state: replayed as invalid, as before
    await old(TENANT, day, A, false, "valid", "chat", 11);
    await old(TENANT, yesterday, A, false, "valid", "chat", 12);
    await old(TENANT, day, null, false, "none", "", 13);
    await old(TENANT, day, "", false, "none", "", 14); // an empty Origin header is not an absent one
    await old("rp-b", day, A, false, "none", "", 15);

    await applyMigrations(url);

    const { rows } = await pool.query<{ key: string; counts: string }>(
      `select concat_ws('|', tenant, bucket::date::text, has_origin::text, origin, subprotocols) as key,
              concat_ws(',', token_none, token_valid, token_invalid, cred_token_none, cred_token_valid, cred_token_invalid,
                        total, variants) as counts
         from audit_replay order by 1`,
    );
    const d = (date: Date) => date.toISOString().slice(0, 10);
    expect(rows.map((r) => `${r.key} ${r.counts}`)).toEqual(
      [
        `${TENANT}|${d(day)}|false|| 13,0,0,0,0,0,13,1`,
        `${TENANT}|${d(day)}|true|| 14,0,0,0,0,0,14,1`,
        `${TENANT}|${d(day)}|true|${A}| 5,6,7,8,9,11,46,63`,
        `${TENANT}|${d(day)}|true|${A}|chat 0,11,0,0,0,0,11,2`,
        `${TENANT}|${d(yesterday)}|true|${A}|chat 0,12,0,0,0,0,12,2`,
        `rp-b|${d(day)}|true|${A}| 15,0,0,0,0,0,15,1`,
      ].sort(),
    );

    // The summary keeps writing into the converted rows.
    await pool.query(
      `insert into audit_event (ts, gateway_id, kind, tenant, decision, reason, origin, count, credentials, token_state)
       values ($1, 'gw-mig', 'handshake', $2, 'accepted', 'allowed', $3, 2, true, 'valid')`,
      [new Date(day.getTime() + 2000), TENANT, A],
    );
    await summarizeAudit({ pool, budgetMs: 60_000 });
    const window = await readReplayGroups(pool, { tenant: TENANT, since: day, until: new Date(now + 60_000) });
    const plain = window.groups.find((g) => g.origin === A && g.subprotocols.length === 0);
    expect(plain && "counts" in plain ? Array.from(plain.counts) : null).toEqual([5, 6, 7, 8, 11, 11]);
    const { rows: after } = await pool.query<{ total: string; variants: number }>(
      "select total::text, variants from audit_replay where tenant = $1 and bucket = $2 and origin = $3 and subprotocols = ''",
      [TENANT, day, A],
    );
    expect(after).toEqual([{ total: "48", variants: 63 }]);
  });
});
