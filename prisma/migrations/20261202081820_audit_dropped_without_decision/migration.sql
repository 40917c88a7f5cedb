-- AlterTable
ALTER TABLE "audit_event" ALTER COLUMN "decision" DROP NOT NULL,
ALTER COLUMN "reason" DROP NOT NULL;

-- ---------------------------------------------------------------------------------------
-- Postgres-side pieces: `dropped` rows written before this migration carried a borrowed
-- decision/reason (rejected / audit_dropped); SPEC §6 says they have neither.
-- ---------------------------------------------------------------------------------------
UPDATE "audit_event"
   SET "decision" = NULL,
       "reason" = NULL,
       "details" = jsonb_build_object('cause', 'queue_full') || coalesce("details", '{}'::jsonb)
 WHERE "kind" = 'dropped';
