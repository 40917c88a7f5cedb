-- Hand-edited from `npm run db:migration:new -- audit_explorer_indexes`: the indexes the audit
-- explorer's filters and sorts need at tens of millions of events (issue 15 item 2;
-- tests/bench/RESULTS.md "bench:audit-query", 2026-12-03), and the user-agent dictionary of the
-- audit summary. Two partial indexes of earlier migrations are replaced by full ones under the
-- same purpose: client address (was refusals only) and reason (was everything but `allowed`);
-- they are dropped before the generated CREATE INDEX (the reason index keeps its name).

DROP INDEX "audit_event_remote_addr_refused_idx";
DROP INDEX "audit_event_reason_ts_id_idx";

-- CreateTable
CREATE TABLE "audit_user_agent" (
    "user_agent" TEXT NOT NULL,
    "last_seen" TIMESTAMPTZ(3) NOT NULL,
    "events" BIGINT NOT NULL,

    CONSTRAINT "audit_user_agent_pkey" PRIMARY KEY ("user_agent")
);

-- CreateIndex
CREATE INDEX "audit_user_agent_last_seen_idx" ON "audit_user_agent"("last_seen");

-- CreateIndex
CREATE INDEX "audit_event_remote_addr_ts_id_idx" ON "audit_event"("remote_addr", "ts", "id");

-- CreateIndex
CREATE INDEX "audit_event_reason_ts_id_idx" ON "audit_event"("reason", "ts", "id");

-- ---------------------------------------------------------------------------------------
-- Postgres-side pieces (schema.prisma cannot express them). Each is created on the
-- partitioned parent, so every partition, present and future (server/audit/partitions.ts
-- attaches tables made LIKE the parent), gets its own.
-- ---------------------------------------------------------------------------------------

-- via = forward_auth | tester: the rows that did not come through the gateway itself (a few
-- percent). `via = gateway` is most rows and walks (ts, id).
CREATE INDEX "audit_event_via_ts_id_idx" ON "audit_event" ("via", "ts", "id") WHERE via <> 'gateway';

-- path starts with …: LIKE 'x%' needs the pattern operator class (the database's collation
-- may be any, C.UTF-8 here); a path that matches nothing is one index probe.
CREATE INDEX "audit_event_path_pattern_idx" ON "audit_event" ("path" text_pattern_ops);

-- Sort by count: only folded rows (count <> 1) are indexed by count; the history reads the
-- count = 1 rows in (ts, id) order as one run of equal values (server/db/audit-queries.ts).
CREATE INDEX "audit_event_count_ts_id_idx" ON "audit_event" ("count", "ts", "id") WHERE count <> 1;

-- user agent = one of the exact values audit_user_agent matched (the user-agent substring
-- filter): by a 4-byte hash of the value (user agents are up to 256 characters; an index of
-- the values themselves would be the largest of the table). The query compares the value
-- itself too, so a collision costs a row read, never a wrong row.
CREATE INDEX "audit_event_user_agent_hash_ts_id_idx" ON "audit_event" ((hashtext(user_agent)), "ts", "id");

ANALYZE audit_event;

-- The dictionary's trigram index (pg_trgm: migration `audit_event_partitioned`), and its rows
-- for the events the summary already counted (its watermark); later events reach it through
-- the summary pass (server/audit/summary.ts).
CREATE INDEX "audit_user_agent_trgm_idx" ON "audit_user_agent" USING gin ("user_agent" gin_trgm_ops);
INSERT INTO "audit_user_agent" ("user_agent", "last_seen", "events")
SELECT "user_agent", max(coalesce("last_ts", "ts")), sum("count")
  FROM "audit_event"
 WHERE "user_agent" IS NOT NULL AND "id" <= (SELECT "last_id" FROM "audit_summary_state" WHERE "id" = 1)
 GROUP BY 1;
