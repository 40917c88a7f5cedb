-- AlterTable
ALTER TABLE "user" ADD COLUMN     "two_factor_enabled" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
-- Tokens made before expiry existed expire 90 days after this migration (the default
-- lifetime), instead of never.
ALTER TABLE "api_token" ADD COLUMN     "expires_at" TIMESTAMPTZ(3) NOT NULL DEFAULT (CURRENT_TIMESTAMP + interval '90 days'),
ADD COLUMN     "scope_tenant" TEXT,
ADD COLUMN     "scope_tenant_id" UUID;
ALTER TABLE "api_token" ALTER COLUMN "expires_at" DROP DEFAULT;

-- CreateTable
CREATE TABLE "two_factor" (
    "id" TEXT NOT NULL,
    "secret" TEXT NOT NULL,
    "backup_codes" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "verified" BOOLEAN NOT NULL DEFAULT true,
    "failed_verification_count" INTEGER NOT NULL DEFAULT 0,
    "locked_until" TIMESTAMPTZ(3),

    CONSTRAINT "two_factor_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "totp_code_use" (
    "key" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "totp_code_use_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "activity" (
    "id" BIGSERIAL NOT NULL,
    "ts" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "actor_kind" TEXT NOT NULL,
    "actor_id" TEXT,
    "action" TEXT NOT NULL,
    "target" TEXT,
    "summary" TEXT NOT NULL,
    "remote_addr" TEXT,
    "details" JSONB,

    CONSTRAINT "activity_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "two_factor_user_id_idx" ON "two_factor"("user_id");

-- CreateIndex
CREATE INDEX "two_factor_secret_idx" ON "two_factor"("secret");

-- CreateIndex
CREATE INDEX "totp_code_use_expires_at_idx" ON "totp_code_use"("expires_at");

-- CreateIndex
CREATE INDEX "activity_actor_id_idx" ON "activity"("actor", "id");

-- CreateIndex
CREATE INDEX "activity_action_id_idx" ON "activity"("action", "id");

-- CreateIndex
CREATE INDEX "activity_target_id_idx" ON "activity"("target", "id");

-- CreateIndex
CREATE INDEX "api_token_created_by_id_idx" ON "api_token"("created_by_id");

-- AddForeignKey
ALTER TABLE "two_factor" ADD CONSTRAINT "two_factor_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "user"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_token" ADD CONSTRAINT "api_token_scope_tenant_id_fkey" FOREIGN KEY ("scope_tenant_id") REFERENCES "tenant"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- ---------------------------------------------------------------------------------------
-- Postgres-side pieces: the activity log is append-only. Rows are inserted, never changed:
-- UPDATE, DELETE and TRUNCATE are refused by the database itself, whoever asks.
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION origingate_activity_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the activity log is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER activity_no_update_or_delete BEFORE UPDATE OR DELETE ON "activity"
  FOR EACH ROW EXECUTE FUNCTION origingate_activity_append_only();
CREATE TRIGGER activity_no_truncate BEFORE TRUNCATE ON "activity"
  FOR EACH STATEMENT EXECUTE FUNCTION origingate_activity_append_only();
