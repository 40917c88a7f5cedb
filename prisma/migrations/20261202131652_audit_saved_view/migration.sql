-- CreateTable
CREATE TABLE "audit_saved_view" (
    "id" UUID NOT NULL,
    "user_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "query" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_saved_view_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "audit_saved_view_user_id_name_key" ON "audit_saved_view"("user_id", "name");

-- AddForeignKey
ALTER TABLE "audit_saved_view" ADD CONSTRAINT "audit_saved_view_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "user"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Postgres-side extras (not expressible in schema.prisma).
-- The explorer's client-address filter on refusals ("who is hammering us"): refusals only, like
-- the other refusal indexes, so accepted traffic pays nothing for it. A partitioned index: every
-- partition, present and future, gets its own.
CREATE INDEX "audit_event_remote_addr_refused_idx" ON "audit_event" ("remote_addr", "ts", "id")
  WHERE "decision" <> 'accepted';
