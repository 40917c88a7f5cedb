-- AlterEnum
ALTER TYPE "audit_kind" ADD VALUE 'revoked';

-- AlterTable
ALTER TABLE "tenant" ADD COLUMN     "previous_token_secret" TEXT,
ADD COLUMN     "previous_token_secret_until" TIMESTAMPTZ(3);

-- ---------------------------------------------------------------------------------------
-- Postgres-side pieces: the previous token secret (rotation overlap) is enforced like the
-- current one, so changing it touches the policy too (gateways reload and re-evaluate).
-- ---------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION origingate_tenant_touch_policy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.upstream_url IS DISTINCT FROM OLD.upstream_url
     OR NEW.token_secret IS DISTINCT FROM OLD.token_secret
     OR NEW.previous_token_secret IS DISTINCT FROM OLD.previous_token_secret
     OR NEW.previous_token_secret_until IS DISTINCT FROM OLD.previous_token_secret_until
     OR NEW.slug IS DISTINCT FROM OLD.slug THEN
    UPDATE "policy" SET generation = generation + 1 WHERE tenant_id = NEW.id;
  END IF;
  RETURN NULL;
END $$;
