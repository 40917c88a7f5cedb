-- Audit events of HTTP/SSE requests and forward-auth subrequests (SPEC §4.6, §5.1, §6):
-- kinds http and preflight, and how a request reached the decision (via).

-- CreateEnum
CREATE TYPE "audit_via" AS ENUM ('gateway', 'forward_auth');

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "audit_kind" ADD VALUE 'http';
ALTER TYPE "audit_kind" ADD VALUE 'preflight';

-- AlterTable
ALTER TABLE "audit_event" ADD COLUMN     "via" "audit_via" NOT NULL DEFAULT 'gateway';

-- ---------------------------------------------------------------------------------------
-- Postgres-side pieces: "top rejected origins" now counts HTTP requests and preflights as
-- well as handshakes, so its partial index no longer names one kind (a predicate on the new
-- enum values could not be used in the migration that adds them).
-- ---------------------------------------------------------------------------------------
DROP INDEX "audit_event_rejected_origin_ts_idx";
CREATE INDEX "audit_event_rejected_origin_ts_idx" ON "audit_event" ("origin_normalized", "ts")
  WHERE decision = 'rejected';
