-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "policy_mode" AS ENUM ('enforce', 'report_only');

-- CreateEnum
CREATE TYPE "credentials_policy" AS ENUM ('forbid', 'allow');

-- CreateEnum
CREATE TYPE "token_policy" AS ENUM ('off', 'required');

-- CreateEnum
CREATE TYPE "missing_origin_policy" AS ENUM ('reject', 'allow');

-- CreateEnum
CREATE TYPE "audit_decision" AS ENUM ('accepted', 'rejected', 'report_only');

-- CreateEnum
CREATE TYPE "audit_kind" AS ENUM ('handshake', 'close', 'dropped', 'tester');

-- CreateEnum
CREATE TYPE "role" AS ENUM ('viewer', 'editor', 'admin');

-- CreateTable
CREATE TABLE "tenant" (
    "id" UUID NOT NULL,
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "upstream_url" TEXT,
    "token_secret" TEXT NOT NULL,
    "token_secret_rotated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tenant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "policy" (
    "tenant_id" UUID NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "generation" INTEGER NOT NULL DEFAULT 0,
    "mode" "policy_mode" NOT NULL DEFAULT 'enforce',
    "credentials" "credentials_policy" NOT NULL DEFAULT 'forbid',
    "token" "token_policy" NOT NULL DEFAULT 'off',
    "missing_origin" "missing_origin_policy" NOT NULL DEFAULT 'reject',
    "subprotocols" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "max_message_bytes" INTEGER NOT NULL DEFAULT 1048576,
    "idle_timeout_seconds" INTEGER NOT NULL DEFAULT 60,
    "max_connections" INTEGER NOT NULL DEFAULT 10000,
    "handshakes_per_minute_per_ip" INTEGER NOT NULL DEFAULT 600,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_by" TEXT,

    CONSTRAINT "policy_pkey" PRIMARY KEY ("tenant_id")
);

-- CreateTable
CREATE TABLE "allowed_origin" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "pattern" TEXT NOT NULL,
    "note" TEXT,
    "expires_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by" TEXT,

    CONSTRAINT "allowed_origin_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "policy_revision" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "document" JSONB NOT NULL,
    "author_id" TEXT,
    "author" TEXT NOT NULL,
    "comment" TEXT,
    "rollback_of" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "policy_revision_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "tester_endpoint" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "url" TEXT NOT NULL,
    "label" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by" TEXT,

    CONSTRAINT "tester_endpoint_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_event" (
    "id" BIGSERIAL NOT NULL,
    "ts" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_ts" TIMESTAMPTZ(3),
    "gateway_id" TEXT NOT NULL,
    "kind" "audit_kind" NOT NULL DEFAULT 'handshake',
    "tenant" TEXT,
    "decision" "audit_decision" NOT NULL,
    "reason" TEXT NOT NULL,
    "origin" TEXT,
    "origin_normalized" TEXT,
    "remote_addr" TEXT,
    "user_agent" TEXT,
    "path" TEXT,
    "subprotocol" TEXT,
    "policy_version" INTEGER,
    "matched_pattern" TEXT,
    "count" INTEGER NOT NULL DEFAULT 1,
    "close_code" INTEGER,
    "duration_ms" INTEGER,
    "details" JSONB,

    CONSTRAINT "audit_event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "gateway_instance" (
    "id" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_heartbeat_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "stopped_at" TIMESTAMPTZ(3),
    "enforced_versions" JSONB NOT NULL DEFAULT '{}',
    "status" TEXT NOT NULL DEFAULT 'ok',

    CONSTRAINT "gateway_instance_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "user" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "email_verified" BOOLEAN NOT NULL DEFAULT false,
    "image" TEXT,
    "role" "role" NOT NULL DEFAULT 'viewer',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "user_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "session" (
    "id" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "token" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "ip_address" TEXT,
    "user_agent" TEXT,
    "user_id" TEXT NOT NULL,

    CONSTRAINT "session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "account" (
    "id" TEXT NOT NULL,
    "account_id" TEXT NOT NULL,
    "provider_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "access_token" TEXT,
    "refresh_token" TEXT,
    "id_token" TEXT,
    "access_token_expires_at" TIMESTAMPTZ(3),
    "refresh_token_expires_at" TIMESTAMPTZ(3),
    "scope" TEXT,
    "password" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "account_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "verification" (
    "id" TEXT NOT NULL,
    "identifier" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "verification_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rate_limit" (
    "id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "count" INTEGER NOT NULL,
    "last_request" BIGINT NOT NULL,

    CONSTRAINT "rate_limit_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_token" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "role" "role" NOT NULL,
    "prefix" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "created_by_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_token_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "setup_token" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "token_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "used_at" TIMESTAMPTZ(3),

    CONSTRAINT "setup_token_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "setting" (
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "setting_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE UNIQUE INDEX "tenant_slug_key" ON "tenant"("slug");

-- CreateIndex
CREATE UNIQUE INDEX "allowed_origin_tenant_id_pattern_key" ON "allowed_origin"("tenant_id", "pattern");

-- CreateIndex
CREATE UNIQUE INDEX "policy_revision_tenant_id_version_key" ON "policy_revision"("tenant_id", "version");

-- CreateIndex
CREATE UNIQUE INDEX "tester_endpoint_tenant_id_url_key" ON "tester_endpoint"("tenant_id", "url");

-- CreateIndex
CREATE INDEX "audit_event_tenant_id_idx" ON "audit_event"("tenant", "id" DESC);

-- CreateIndex
CREATE INDEX "audit_event_decision_id_idx" ON "audit_event"("decision", "id" DESC);

-- CreateIndex
CREATE INDEX "audit_event_reason_id_idx" ON "audit_event"("reason", "id" DESC);

-- CreateIndex
CREATE INDEX "audit_event_origin_normalized_id_idx" ON "audit_event"("origin_normalized", "id" DESC);

-- CreateIndex
CREATE INDEX "audit_event_ts_idx" ON "audit_event"("ts");

-- CreateIndex
CREATE INDEX "gateway_instance_last_heartbeat_at_idx" ON "gateway_instance"("last_heartbeat_at");

-- CreateIndex
CREATE UNIQUE INDEX "user_email_key" ON "user"("email");

-- CreateIndex
CREATE UNIQUE INDEX "session_token_key" ON "session"("token");

-- CreateIndex
CREATE INDEX "session_user_id_idx" ON "session"("user_id");

-- CreateIndex
CREATE INDEX "account_user_id_idx" ON "account"("user_id");

-- CreateIndex
CREATE INDEX "verification_identifier_idx" ON "verification"("identifier");

-- CreateIndex
CREATE UNIQUE INDEX "rate_limit_key_key" ON "rate_limit"("key");

-- CreateIndex
CREATE UNIQUE INDEX "api_token_token_hash_key" ON "api_token"("token_hash");

-- AddForeignKey
ALTER TABLE "policy" ADD CONSTRAINT "policy_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "allowed_origin" ADD CONSTRAINT "allowed_origin_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "policy_revision" ADD CONSTRAINT "policy_revision_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tester_endpoint" ADD CONSTRAINT "tester_endpoint_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "session" ADD CONSTRAINT "session_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "user"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "account" ADD CONSTRAINT "account_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "user"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_token" ADD CONSTRAINT "api_token_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- ---------------------------------------------------------------------------------------
-- Postgres-side pieces (not expressible in schema.prisma). `npm run db:check` knows them.
-- ---------------------------------------------------------------------------------------

-- Every write to a policy, its allowlist or its tenant bumps policy.generation, whoever the
-- writer is (API, UI, raw SQL), and the policy row's AFTER trigger sends one NOTIFY per
-- tenant per transaction (Postgres folds identical notifications and delivers them at
-- commit). Gateways treat it as a wake-up to re-read the tenant and reconcile on
-- (version, generation), so a lost notification cannot leave them stale.
CREATE FUNCTION origingate_policy_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.generation = OLD.generation THEN
    NEW.generation := OLD.generation + 1;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER policy_bump_generation BEFORE UPDATE ON "policy"
  FOR EACH ROW EXECUTE FUNCTION origingate_policy_bump_generation();

CREATE FUNCTION origingate_policy_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('policy_changed', COALESCE(NEW.tenant_id, OLD.tenant_id)::text);
  RETURN NULL;
END $$;

CREATE TRIGGER policy_notify AFTER INSERT OR UPDATE OR DELETE ON "policy"
  FOR EACH ROW EXECUTE FUNCTION origingate_policy_notify();

-- Allowlist writes touch the policy row once per statement (transition tables keep bulk
-- inserts of thousands of entries to one UPDATE).
CREATE FUNCTION origingate_origins_touch_policy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    UPDATE "policy" SET generation = generation + 1
     WHERE tenant_id IN (SELECT DISTINCT tenant_id FROM old_rows);
  ELSE
    UPDATE "policy" SET generation = generation + 1
     WHERE tenant_id IN (SELECT DISTINCT tenant_id FROM new_rows);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER allowed_origin_insert_touch AFTER INSERT ON "allowed_origin"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION origingate_origins_touch_policy();
CREATE TRIGGER allowed_origin_update_touch AFTER UPDATE ON "allowed_origin"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION origingate_origins_touch_policy();
CREATE TRIGGER allowed_origin_delete_touch AFTER DELETE ON "allowed_origin"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION origingate_origins_touch_policy();

-- Tenant changes the gateway enforces with (upstream URL, token secret) touch the policy too.
CREATE FUNCTION origingate_tenant_touch_policy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.upstream_url IS DISTINCT FROM OLD.upstream_url
     OR NEW.token_secret IS DISTINCT FROM OLD.token_secret
     OR NEW.slug IS DISTINCT FROM OLD.slug THEN
    UPDATE "policy" SET generation = generation + 1 WHERE tenant_id = NEW.id;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER tenant_touch_policy AFTER UPDATE ON "tenant"
  FOR EACH ROW EXECUTE FUNCTION origingate_tenant_touch_policy();

-- Audit: "top rejected origins" and the rejected-only history read these.
CREATE INDEX "audit_event_rejected_origin_ts_idx" ON "audit_event" ("origin_normalized", "ts")
  WHERE decision = 'rejected' AND kind = 'handshake';
CREATE INDEX "audit_event_rejected_tenant_id_idx" ON "audit_event" ("tenant", "id" DESC)
  WHERE decision = 'rejected';
