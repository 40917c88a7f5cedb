-- CreateEnum
CREATE TYPE "rollout_state" AS ENUM ('pending_approval', 'shadow', 'canary', 'promoted', 'aborted', 'rejected');

-- AlterTable
ALTER TABLE "tenant" ADD COLUMN     "require_approval" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "policy_revision" ADD COLUMN     "stage" "rollout_state";

-- AlterTable
ALTER TABLE "audit_event" ADD COLUMN     "shadow_decision" "audit_decision",
ADD COLUMN     "shadow_reason" TEXT,
ADD COLUMN     "shadow_version" INTEGER;

-- AlterTable
ALTER TABLE "gateway_instance" ADD COLUMN     "labels" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "staged_versions" JSONB NOT NULL DEFAULT '{}';

-- CreateTable
CREATE TABLE "policy_rollout" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "base_version" INTEGER NOT NULL,
    "document" JSONB NOT NULL,
    "state" "rollout_state" NOT NULL,
    "requested_state" "rollout_state",
    "canary_labels" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "canary_percent" INTEGER,
    "guard_max_new_refusals_per_minute" INTEGER,
    "author_id" TEXT,
    "author" TEXT NOT NULL,
    "comment" TEXT,
    "approved_by" TEXT,
    "approved_by_id" TEXT,
    "approved_at" TIMESTAMPTZ(3),
    "closed_by" TEXT,
    "closed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "policy_rollout_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "policy_rollout_step" (
    "id" BIGSERIAL NOT NULL,
    "rollout_id" UUID NOT NULL,
    "action" TEXT NOT NULL,
    "from_state" "rollout_state",
    "to_state" "rollout_state" NOT NULL,
    "actor_id" TEXT,
    "actor" TEXT NOT NULL,
    "comment" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "policy_rollout_step_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "policy_rollout_tenant_id_created_at_idx" ON "policy_rollout"("tenant_id", "created_at");

-- CreateIndex
CREATE INDEX "policy_rollout_step_rollout_id_id_idx" ON "policy_rollout_step"("rollout_id", "id");

-- AddForeignKey
ALTER TABLE "policy_rollout" ADD CONSTRAINT "policy_rollout_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "policy_rollout_step" ADD CONSTRAINT "policy_rollout_step_rollout_id_fkey" FOREIGN KEY ("rollout_id") REFERENCES "policy_rollout"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- ---------------------------------------------------------------------------------------
-- Postgres-side pieces (not expressible in schema.prisma).
-- ---------------------------------------------------------------------------------------

-- At most one open rollout per tenant (SPEC §5.2: a second is 409 rollout_in_progress); the
-- application checks first, this index makes a race lose instead of opening two.
CREATE UNIQUE INDEX "policy_rollout_one_open_per_tenant" ON "policy_rollout" ("tenant_id")
  WHERE state IN ('pending_approval', 'shadow', 'canary');

-- Gateways read the open rollout with the policy: every write here touches the policy row,
-- so its generation moves (reconciliation) and its trigger NOTIFYs policy_changed at commit.
CREATE FUNCTION origingate_rollout_touch_policy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "policy" SET generation = generation + 1 WHERE tenant_id = COALESCE(NEW.tenant_id, OLD.tenant_id);
  RETURN NULL;
END $$;

CREATE TRIGGER policy_rollout_touch_policy AFTER INSERT OR UPDATE OR DELETE ON "policy_rollout"
  FOR EACH ROW EXECUTE FUNCTION origingate_rollout_touch_policy();

-- The audit history's "differs from shadow" filter reads only the few rows that carry a
-- shadow decision (created on the partitioned parent, so every partition gets it).
CREATE INDEX "audit_event_shadow_ts_id_idx" ON "audit_event" ("ts", "id") WHERE shadow_decision IS NOT NULL;
