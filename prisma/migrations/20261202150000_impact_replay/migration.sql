-- AlterTable
ALTER TABLE "audit_event" ADD COLUMN     "credentials" BOOLEAN,
ADD COLUMN     "offered_subprotocols" TEXT,
ADD COLUMN     "token_state" TEXT;

-- CreateTable
CREATE TABLE "audit_replay" (
    "tenant" TEXT NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "has_origin" BOOLEAN NOT NULL,
    "origin" TEXT NOT NULL,
    "credentials" BOOLEAN NOT NULL,
    "token_state" TEXT NOT NULL,
    "subprotocols" TEXT NOT NULL,
    "count" BIGINT NOT NULL,
    "last_seen" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "audit_replay_pkey" PRIMARY KEY ("tenant","bucket","has_origin","origin","credentials","token_state","subprotocols")
);

-- CreateTable
CREATE TABLE "audit_pattern_hit" (
    "tenant" TEXT NOT NULL,
    "pattern" TEXT NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "count" BIGINT NOT NULL,
    "last_seen" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "audit_pattern_hit_pkey" PRIMARY KEY ("tenant","pattern","bucket")
);

-- CreateIndex
CREATE INDEX "audit_pattern_hit_bucket_idx" ON "audit_pattern_hit"("bucket");
