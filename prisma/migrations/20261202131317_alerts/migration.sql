-- CreateEnum
CREATE TYPE "alert_rule_kind" AS ENUM ('rejection_spike', 'new_rejected_origin', 'gateway_stale', 'audit_unhealthy', 'tester_finding', 'rollout_guard_tripped');

-- CreateEnum
CREATE TYPE "alert_delivery_status" AS ENUM ('pending', 'delivered', 'failed');

-- AlterTable
ALTER TABLE "gateway_instance" ADD COLUMN     "audit_status" TEXT NOT NULL DEFAULT 'ok';

-- CreateTable
CREATE TABLE "alert_rule" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "alert_rule_kind" NOT NULL,
    "tenant" TEXT,
    "params" JSONB NOT NULL DEFAULT '{}',
    "webhook_ids" UUID[] DEFAULT ARRAY[]::UUID[],
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "cursor" BIGINT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alert_rule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "alert_webhook" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "secret" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alert_webhook_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "alert" (
    "id" BIGSERIAL NOT NULL,
    "rule_id" UUID NOT NULL,
    "rule_name" TEXT NOT NULL,
    "kind" "alert_rule_kind" NOT NULL,
    "tenant" TEXT,
    "key" TEXT NOT NULL,
    "summary" TEXT NOT NULL,
    "details" JSONB NOT NULL DEFAULT '{}',
    "fired_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolved_at" TIMESTAMPTZ(3),

    CONSTRAINT "alert_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "alert_delivery" (
    "id" BIGSERIAL NOT NULL,
    "webhook_id" UUID NOT NULL,
    "alert_id" BIGINT,
    "event" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "status" "alert_delivery_status" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_attempt_at" TIMESTAMPTZ(3),
    "response_status" INTEGER,
    "error" TEXT,
    "log" JSONB NOT NULL DEFAULT '[]',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alert_delivery_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "alert_rule_name_key" ON "alert_rule"("name");

-- CreateIndex
CREATE UNIQUE INDEX "alert_webhook_name_key" ON "alert_webhook"("name");

-- CreateIndex
CREATE INDEX "alert_fired_at_idx" ON "alert"("fired_at");

-- CreateIndex
CREATE INDEX "alert_delivery_status_next_attempt_at_idx" ON "alert_delivery"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "alert_delivery_webhook_id_id_idx" ON "alert_delivery"("webhook_id", "id");

-- AddForeignKey
ALTER TABLE "alert_delivery" ADD CONSTRAINT "alert_delivery_webhook_id_fkey" FOREIGN KEY ("webhook_id") REFERENCES "alert_webhook"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- ---------------------------------------------------------------------------------------
-- Postgres-side pieces (not expressible in schema.prisma). `npm run db:check` knows them.
-- ---------------------------------------------------------------------------------------

-- At most one open alert per rule and key: the evaluator and raiseAlert() insert with
-- `on conflict do nothing`, so a condition that holds for hours is one alert, not one per pass.
CREATE UNIQUE INDEX "alert_open_rule_key" ON "alert" ("rule_id", "key") WHERE "resolved_at" IS NULL;
