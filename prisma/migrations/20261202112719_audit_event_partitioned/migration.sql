-- CreateEnum
CREATE TYPE "siem_destination_kind" AS ENUM ('syslog', 'webhook');

-- DropIndex
DROP INDEX "audit_event_decision_ts_id_idx";

-- DropIndex
DROP INDEX "audit_event_reason_ts_id_idx";

-- DropIndex
DROP INDEX "audit_event_origin_normalized_ts_id_idx";

-- AlterTable
ALTER TABLE "audit_event" DROP CONSTRAINT "audit_event_pkey",
ADD CONSTRAINT "audit_event_pkey" PRIMARY KEY ("id", "ts");

-- CreateTable
CREATE TABLE "audit_summary_state" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "last_id" BIGINT NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_summary_state_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_count" (
    "all_tenants" BOOLEAN NOT NULL,
    "tenant" TEXT NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "kind" "audit_kind" NOT NULL,
    "decision" "audit_decision" NOT NULL,
    "count" BIGINT NOT NULL,

    CONSTRAINT "audit_count_pkey" PRIMARY KEY ("all_tenants","tenant","bucket","kind","decision")
);

-- CreateTable
CREATE TABLE "audit_rejected_origin" (
    "tenant" TEXT NOT NULL,
    "origin" TEXT NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "count" BIGINT NOT NULL,
    "last_seen" TIMESTAMPTZ(3) NOT NULL,
    "reasons" TEXT[],

    CONSTRAINT "audit_rejected_origin_pkey" PRIMARY KEY ("tenant","origin","bucket")
);

-- CreateTable
CREATE TABLE "audit_origin" (
    "origin" TEXT NOT NULL,
    "last_seen" TIMESTAMPTZ(3) NOT NULL,
    "events" BIGINT NOT NULL,

    CONSTRAINT "audit_origin_pkey" PRIMARY KEY ("origin")
);

-- CreateTable
CREATE TABLE "siem_destination" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "siem_destination_kind" NOT NULL,
    "url" TEXT NOT NULL,
    "secret" TEXT,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "siem_destination_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "audit_rejected_origin_bucket_count_idx" ON "audit_rejected_origin"("bucket", "count" DESC);

-- CreateIndex
CREATE INDEX "audit_rejected_origin_tenant_bucket_count_idx" ON "audit_rejected_origin"("tenant", "bucket", "count" DESC);

-- CreateIndex
CREATE INDEX "audit_origin_last_seen_idx" ON "audit_origin"("last_seen");

-- CreateIndex
CREATE UNIQUE INDEX "siem_destination_name_key" ON "siem_destination"("name");

-- ---------------------------------------------------------------------------------------
-- Postgres-side pieces (schema.prisma cannot express them): `audit_event` becomes a table
-- partitioned by range of `ts`, one partition per UTC day (SPEC §6), with its rows. (The part
-- above also created the audit summary's tables — server/audit/summary.ts — and the SIEM
-- destinations' table.)
--
-- The conversion copies whatever the table has when this runs: every column (the new parent
-- is created LIKE the old table, so columns added by earlier migrations come along), its
-- defaults and CHECK constraints, its primary key and every index (recreated on the parent
-- from their own definitions, so partial indexes of earlier migrations come along too), and
-- every row with its id. The id sequence is kept (ids go on increasing). Partitions are made
-- for every day that has rows (up to 400 days back and 7 ahead) and for yesterday to 7 days
-- ahead; rows outside that land in the default partition, which catches any out-of-range
-- `ts` from now on. After this, partitions are created ahead and dropped after
-- AUDIT_RETENTION_DAYS by server/audit/partitions.ts; ALTER TABLE ADD COLUMN on the parent
-- reaches every partition.
-- ---------------------------------------------------------------------------------------

-- One definition of "the partition of a UTC day", used here and by server/audit/partitions.ts.
-- Creates `audit_event_pYYYYMMDD` for [day 00:00 UTC, day + 1 00:00 UTC) unless it exists
-- (returns null then). Rows of that day that landed in the default partition meanwhile move
-- into the new partition first (the default partition may not keep rows of an attached range).
-- The new table is built detached and attached afterwards, which takes only a SHARE UPDATE
-- EXCLUSIVE lock on the parent (inserts and reads go on); the default partition is locked for
-- the move and the check. The caller bounds the wait with lock_timeout.
CREATE FUNCTION audit_event_create_partition(day date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  part text := 'audit_event_p' || to_char(day, 'YYYYMMDD');
  lo timestamptz := day::timestamp AT TIME ZONE 'UTC';
  hi timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
  cols text;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relname = part AND n.nspname = current_schema()) THEN
    RETURN NULL;
  END IF;
  EXECUTE format('CREATE TABLE %I (LIKE audit_event INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
  -- Lets ATTACH skip scanning the new table; dropped once attached (the bound says the same).
  EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (ts >= %L AND ts < %L)', part, part || '_range', lo, hi);
  IF EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'audit_event'::regclass AND c.relname = 'audit_event_default') THEN
    LOCK TABLE audit_event_default IN ACCESS EXCLUSIVE MODE;
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
      FROM pg_attribute WHERE attrelid = 'audit_event'::regclass AND attnum > 0 AND NOT attisdropped;
    EXECUTE format(
      'WITH moved AS (DELETE FROM audit_event_default WHERE ts >= $1 AND ts < $2 RETURNING %s) '
      'INSERT INTO %I (%s) SELECT %s FROM moved', cols, part, cols, cols) USING lo, hi;
  END IF;
  EXECUTE format('ALTER TABLE audit_event ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
  EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', part, part || '_range');
  RETURN part;
END $$;

DO $$
DECLARE
  r record;
  cols text;
  rebuild text[] := '{}';
  statement text;
  today date := (now() AT TIME ZONE 'UTC')::date;
BEGIN
  ALTER TABLE audit_event RENAME TO audit_event_unpartitioned;
  -- Keys and indexes move to the new parent under their own names: remember each one's
  -- definition, then free the name.
  FOR r IN SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
            WHERE conrelid = 'audit_event_unpartitioned'::regclass AND contype IN ('p', 'u', 'x') LOOP
    rebuild := rebuild || format('ALTER TABLE audit_event ADD CONSTRAINT %I %s', r.conname, r.def);
    EXECUTE format('ALTER TABLE audit_event_unpartitioned DROP CONSTRAINT %I', r.conname);
  END LOOP;
  FOR r IN SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
            WHERE i.indrelid = 'audit_event_unpartitioned'::regclass LOOP
    rebuild := rebuild || regexp_replace(r.def, ' ON (ONLY )?\S*audit_event_unpartitioned ', ' ON audit_event ');
    EXECUTE format('DROP INDEX %s', r.name);
  END LOOP;

  CREATE TABLE audit_event (LIKE audit_event_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS
                            INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (ts);
  ALTER SEQUENCE audit_event_id_seq OWNED BY audit_event.id;
  CREATE TABLE audit_event_default PARTITION OF audit_event DEFAULT;

  FOR r IN SELECT DISTINCT (ts AT TIME ZONE 'UTC')::date AS day FROM audit_event_unpartitioned
            WHERE ts >= (today - 400)::timestamp AT TIME ZONE 'UTC' AND ts < (today + 8)::timestamp AT TIME ZONE 'UTC'
           UNION SELECT today + g FROM generate_series(-1, 7) AS g LOOP
    PERFORM audit_event_create_partition(r.day);
  END LOOP;

  SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
    FROM pg_attribute WHERE attrelid = 'audit_event_unpartitioned'::regclass AND attnum > 0 AND NOT attisdropped;
  EXECUTE format('INSERT INTO audit_event (%s) SELECT %s FROM audit_event_unpartitioned', cols, cols);

  FOREACH statement IN ARRAY rebuild LOOP
    EXECUTE statement;
  END LOOP;
  DROP TABLE audit_event_unpartitioned;
END $$;

-- Indexes trimmed to what the history, the overview and the live stream read (README "Audit",
-- tests/bench/RESULTS.md): the primary key (id, ts) serves the live stream (id order) and the
-- lookups by id; (ts, id) the unfiltered history and time windows; (tenant, ts, id) the tenant
-- filter. The other filters are served by partial indexes on the rows they look for, which
-- accepted handshakes (most rows) never pay for.
DROP INDEX "audit_event_rejected_origin_ts_idx";
DROP INDEX "audit_event_origin_as_sent_ts_id_idx";
-- decision = rejected | report_only
CREATE INDEX "audit_event_refused_ts_id_idx" ON "audit_event" ("decision", "ts", "id")
  WHERE decision <> 'accepted';
-- reason = <a refusal's reason>
CREATE INDEX "audit_event_reason_ts_id_idx" ON "audit_event" ("reason", "ts", "id")
  WHERE reason <> 'allowed';
-- kind = revoked | tester | dropped (rare kinds; handshake, close, http and preflight are most rows)
CREATE INDEX "audit_event_rare_kind_ts_id_idx" ON "audit_event" ("kind", "ts", "id")
  WHERE kind IN ('revoked', 'tester', 'dropped');
-- origin = <exact>, on the origin as normalized, or as sent when it was malformed (one
-- expression for both; it replaces the two origin indexes above). Substring and prefix search
-- find their origins in the small audit_origin table first (created above).
CREATE INDEX "audit_event_origin_ts_id_idx" ON "audit_event" ((coalesce(origin_normalized, origin)), "ts", "id");
ANALYZE audit_event;

-- The summary's one state row (nothing summarized yet: the first passes of
-- server/audit/summary.ts count every existing row), and the trigram index of origin search
-- (pg_trgm ships with PostgreSQL and is a trusted extension: the database owner may create it;
-- Debian's postgresql-15 and the embedded-postgres binaries both have it).
INSERT INTO "audit_summary_state" ("id", "last_id") VALUES (1, 0);
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX "audit_origin_trgm_idx" ON "audit_origin" USING gin ("origin" gin_trgm_ops);
