/**
 * What the alert pages read: raised alerts and the delivery log (each delivery with its
 * attempts), newest first, keyset-paginated by id. Never a secret (payloads are alert data).
 */
import "server-only";
import type { AlertRuleKind } from "@/server/alerts/alert-rule";
import type { AttemptLogEntry } from "@/server/alerts/delivery-state";
import type { Db } from "@/server/db/prisma";
import type { AlertListQuery } from "./alert-input";

export interface AlertView {
  id: string;
  ruleId: string;
  ruleName: string;
  kind: AlertRuleKind;
  tenant: string | null;
  key: string;
  summary: string;
  details: Record<string, unknown>;
  firedAt: string;
  resolvedAt: string | null;
}

export interface AlertDeliveryView {
  id: string;
  webhookId: string;
  webhookName: string;
  alertId: string | null;
  event: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  responseStatus: number | null;
  error: string | null;
  log: AttemptLogEntry[];
  createdAt: string;
}

export function toDeliveryView(row: {
  id: bigint;
  webhookId: string;
  alertId: bigint | null;
  event: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  nextAttemptAt: Date;
  lastAttemptAt: Date | null;
  responseStatus: number | null;
  error: string | null;
  log: unknown;
  createdAt: Date;
  webhook: { name: string };
}): AlertDeliveryView {
  return {
    id: row.id.toString(),
    webhookId: row.webhookId,
    webhookName: row.webhook.name,
    alertId: row.alertId?.toString() ?? null,
    event: row.event,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === "pending" ? row.nextAttemptAt.toISOString() : null,
    lastAttemptAt: row.lastAttemptAt?.toISOString() ?? null,
    responseStatus: row.responseStatus,
    error: row.error,
    log: Array.isArray(row.log) ? (row.log as AttemptLogEntry[]) : [],
    createdAt: row.createdAt.toISOString(),
  };
}

export async function listAlertDeliveries(options: {
  db: Db;
  query: AlertListQuery;
}): Promise<{ deliveries: AlertDeliveryView[]; nextCursor: string | null }> {
  const { query } = options;
  const rows = await options.db.alertDelivery.findMany({
    where: {
      ...(query.cursor ? { id: { lt: BigInt(query.cursor) } } : {}),
      ...(query.webhook ? { webhookId: query.webhook } : {}),
    },
    orderBy: { id: "desc" },
    take: query.limit + 1,
    include: { webhook: { select: { name: true } } },
  });
  const page = rows.slice(0, query.limit);
  return {
    deliveries: page.map(toDeliveryView),
    nextCursor: rows.length > query.limit ? (page.at(-1)?.id.toString() ?? null) : null,
  };
}

export async function listAlerts(options: {
  db: Db;
  query: AlertListQuery;
}): Promise<{ alerts: AlertView[]; nextCursor: string | null }> {
  const { query } = options;
  const rows = await options.db.alert.findMany({
    where: query.cursor ? { id: { lt: BigInt(query.cursor) } } : {},
    orderBy: { id: "desc" },
    take: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  return {
    alerts: page.map((row) => ({
      id: row.id.toString(),
      ruleId: row.ruleId,
      ruleName: row.ruleName,
      kind: row.kind,
      tenant: row.tenant,
      key: row.key,
      summary: row.summary,
      details: (row.details ?? {}) as Record<string, unknown>,
      firedAt: row.firedAt.toISOString(),
      resolvedAt: row.resolvedAt?.toISOString() ?? null,
    })),
    nextCursor: rows.length > query.limit ? (page.at(-1)?.id.toString() ?? null) : null,
  };
}
