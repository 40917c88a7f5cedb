/**
 * One audit batch in one round trip (server/audit/copy-batch.ts): the batch's statements and
 * its COPY data go to Postgres in one write, before Postgres has said it is ready for the
 * data. Against a real Postgres: the rows and the SELECTs' values arrive; a statement that
 * fails before the COPY, or a row the COPY refuses, leaves nothing committed, reports
 * Postgres' SQLSTATE, and the connection is usable again after a rollback (the data that
 * followed the failure is dropped by Postgres, never read as a command).
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCopyBatch } from "../../server/audit/copy-batch";
import { isRefusal } from "../../server/audit/pipeline";
import { createTestDatabase } from "../helpers/test-db";

let client: pg.Client;
let url: string;

beforeAll(async () => {
  url = await createTestDatabase("copybatch");
  client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query("create table t (n int not null, word text not null)");
  await client.query("create sequence t_seq");
});

afterAll(async () => {
  await client?.end();
});

const count = async () => Number((await client.query<{ n: string }>("select count(*)::text as n from t")).rows[0]!.n);

const BATCH = (copy = "copy t (n, word) from stdin", before = "select nextval('t_seq')::text as before") =>
  `begin; ${before}; ${copy}; select currval('t_seq')::text as last, pg_notify('copy_batch_test', 'x'); commit`;

describe("runCopyBatch", () => {
  it("writes every line and returns what the statements around the COPY selected", async () => {
    const values = await runCopyBatch(client, BATCH(), "1\tone\n2\ttwo\n3\tthr\\tee\n");
    expect(Number(values.get("last"))).toBe(Number(values.get("before")));
    expect((await client.query("select n, word from t order by n")).rows).toEqual([
      { n: 1, word: "one" },
      { n: 2, word: "two" },
      { n: 3, word: "thr\tee" },
    ]);
    // Idle, not inside a transaction: the COMMIT at the end of the batch ran.
    expect((await client.query("select 1 as ok")).rows).toEqual([{ ok: 1 }]);
    await client.query("truncate t");
  });

  it("a refused row: nothing of the batch is committed, the SQLSTATE says why, the connection works after rollback", async () => {
    const error = await runCopyBatch(client, BATCH(), "1\tone\nnot-a-number\ttwo\n3\tthree\n").catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe("22P02");
    expect(isRefusal(error)).toBe(true);
    await client.query("rollback");
    expect(await count()).toBe(0);
    // The next batch on the same connection is whole: the refused batch's remaining data was
    // dropped by Postgres, not taken as the next batch's rows or as a command.
    await runCopyBatch(client, BATCH(), "4\tfour\n");
    expect((await client.query("select n, word from t")).rows).toEqual([{ n: 4, word: "four" }]);
    await client.query("truncate t");
  });

  it("a statement before the COPY fails: its data, already sent, is dropped; nothing committed", async () => {
    const error = await runCopyBatch(
      client,
      BATCH(undefined, "select nextval('no_such_sequence')"),
      "5\tfive\n6\tsix\n",
    ).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe("42P01");
    await client.query("rollback");
    expect(await count()).toBe(0);
    await runCopyBatch(client, BATCH(), "7\tseven\n");
    expect((await client.query("select n from t")).rows).toEqual([{ n: 7 }]);
    await client.query("truncate t");
  });

  it("a COPY into a missing table fails as unavailable would (42P01), not as refused data", async () => {
    const error = await runCopyBatch(client, BATCH("copy missing_table (n) from stdin"), "8\n").catch(
      (e: unknown) => e,
    );
    expect((error as { code?: string }).code).toBe("42P01");
    // The pipeline retries this (unavailable), it does not split the batch looking for a bad row.
    expect(isRefusal(error)).toBe(false);
    await client.query("rollback");
    expect((await client.query("select 1 as ok")).rows).toEqual([{ ok: 1 }]);
  });

  it("a dead connection rejects the batch instead of leaving it pending", async () => {
    const victim = new pg.Client({ connectionString: url });
    await victim.connect();
    victim.on("error", () => {});
    const pid = (await victim.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
    // Hold the batch at its lock while the backend is terminated from outside.
    await client.query("select pg_advisory_lock(4242)");
    const pending = runCopyBatch(victim, BATCH(undefined, "select pg_advisory_xact_lock(4242)"), "9\tnine\n");
    await expect
      .poll(
        async () =>
          (await client.query<{ n: number }>("select count(*)::int as n from pg_locks where not granted")).rows[0]!.n,
      )
      .toBe(1);
    await client.query("select pg_terminate_backend($1)", [pid]);
    await expect(pending).rejects.toBeTruthy();
    await client.query("select pg_advisory_unlock(4242)");
    expect(await count()).toBe(0);
  });
});
