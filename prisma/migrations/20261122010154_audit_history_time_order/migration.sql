-- DropIndex
DROP INDEX "audit_event_tenant_id_idx";

-- DropIndex
DROP INDEX "audit_event_decision_id_idx";

-- DropIndex
DROP INDEX "audit_event_reason_id_idx";

-- DropIndex
DROP INDEX "audit_event_origin_normalized_id_idx";

-- DropIndex
DROP INDEX "audit_event_ts_idx";

-- CreateIndex
CREATE INDEX "audit_event_tenant_ts_id_idx" ON "audit_event"("tenant", "ts", "id");

-- CreateIndex
CREATE INDEX "audit_event_decision_ts_id_idx" ON "audit_event"("decision", "ts", "id");

-- CreateIndex
CREATE INDEX "audit_event_reason_ts_id_idx" ON "audit_event"("reason", "ts", "id");

-- CreateIndex
CREATE INDEX "audit_event_origin_normalized_ts_id_idx" ON "audit_event"("origin_normalized", "ts", "id");

-- CreateIndex
CREATE INDEX "audit_event_ts_id_idx" ON "audit_event"("ts", "id");

-- ---------------------------------------------------------------------------------------
-- Postgres-side pieces: the partial indexes follow the history's new (ts, id) order.
-- ---------------------------------------------------------------------------------------
DROP INDEX "audit_event_rejected_tenant_id_idx";
CREATE INDEX "audit_event_rejected_tenant_ts_id_idx" ON "audit_event" ("tenant", "ts", "id")
  WHERE decision = 'rejected';
DROP INDEX "audit_event_origin_as_sent_id_idx";
CREATE INDEX "audit_event_origin_as_sent_ts_id_idx" ON "audit_event" ("origin", "ts", "id")
  WHERE origin_normalized IS NULL;
