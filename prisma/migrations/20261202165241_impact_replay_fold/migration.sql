-- Hand-edited from `npm run db:migration:new -- impact_replay_fold`: audit_replay keeps one row
-- per tenant, day, origin and offered subprotocols, with the counts of its tuples by
-- credentials x token state in six columns, their total and a bitmask of the positive ones
-- (was one row per tuple). The generated ALTER would
-- have dropped the counts; existing rows are folded into the new shape instead. A token state
-- other than none/valid is replayed as invalid (fail closed), as the preview already did.

ALTER TABLE "audit_replay" RENAME TO "audit_replay_by_tuple";
ALTER TABLE "audit_replay_by_tuple" RENAME CONSTRAINT "audit_replay_pkey" TO "audit_replay_by_tuple_pkey";

-- CreateTable
CREATE TABLE "audit_replay" (
    "tenant" TEXT NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "has_origin" BOOLEAN NOT NULL,
    "origin" TEXT NOT NULL,
    "subprotocols" TEXT NOT NULL,
    "token_none" BIGINT NOT NULL DEFAULT 0,
    "token_valid" BIGINT NOT NULL DEFAULT 0,
    "token_invalid" BIGINT NOT NULL DEFAULT 0,
    "cred_token_none" BIGINT NOT NULL DEFAULT 0,
    "cred_token_valid" BIGINT NOT NULL DEFAULT 0,
    "cred_token_invalid" BIGINT NOT NULL DEFAULT 0,
    "total" BIGINT NOT NULL DEFAULT 0,
    "variants" INTEGER NOT NULL DEFAULT 0,
    "last_seen" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "audit_replay_pkey" PRIMARY KEY ("tenant","bucket","has_origin","origin","subprotocols")
);

INSERT INTO "audit_replay" ("tenant", "bucket", "has_origin", "origin", "subprotocols", "token_none", "token_valid",
                            "token_invalid", "cred_token_none", "cred_token_valid", "cred_token_invalid", "total",
                            "variants", "last_seen")
SELECT "tenant", "bucket", "has_origin", "origin", "subprotocols", n0, n1, n2, n3, n4, n5, n0 + n1 + n2 + n3 + n4 + n5,
       (n0 > 0)::int + (n1 > 0)::int * 2 + (n2 > 0)::int * 4 + (n3 > 0)::int * 8 + (n4 > 0)::int * 16 + (n5 > 0)::int * 32,
       "last_seen"
  FROM (
    SELECT "tenant", "bucket", "has_origin", "origin", "subprotocols",
           coalesce(sum("count") FILTER (WHERE NOT "credentials" AND "token_state" = 'none'), 0) AS n0,
           coalesce(sum("count") FILTER (WHERE NOT "credentials" AND "token_state" = 'valid'), 0) AS n1,
           coalesce(sum("count") FILTER (WHERE NOT "credentials" AND "token_state" NOT IN ('none', 'valid')), 0) AS n2,
           coalesce(sum("count") FILTER (WHERE "credentials" AND "token_state" = 'none'), 0) AS n3,
           coalesce(sum("count") FILTER (WHERE "credentials" AND "token_state" = 'valid'), 0) AS n4,
           coalesce(sum("count") FILTER (WHERE "credentials" AND "token_state" NOT IN ('none', 'valid')), 0) AS n5,
           max("last_seen") AS "last_seen"
      FROM "audit_replay_by_tuple"
     GROUP BY 1, 2, 3, 4, 5
  ) AS folded;

DROP TABLE "audit_replay_by_tuple";

-- PostgreSQL 18 names NOT NULL constraints: the new table's got a "1" suffix while the old
-- table still held "audit_replay_<column>_not_null". Give them their usual names (a no-op
-- before 18, which has no such constraints).
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
            WHERE conrelid = '"audit_replay"'::regclass AND contype = 'n' AND conname LIKE '%\_not\_null1'
  LOOP
    EXECUTE format('ALTER TABLE "audit_replay" RENAME CONSTRAINT %I TO %I', c.conname, left(c.conname, -1));
  END LOOP;
END $$;

-- CreateIndex
CREATE INDEX "audit_replay_tenant_origin_bucket_idx" ON "audit_replay"("tenant", "origin", "bucket");
