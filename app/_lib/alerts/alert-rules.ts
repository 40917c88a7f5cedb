/**
 * Alert rules: list, create, change, remove (admins; SPEC §5.2). Every write records its
 * activity entry (`alert_rule.create|update|delete`) in the same transaction. A rule names a
 * tenant that exists (or none: every tenant) and webhooks that exist. A new tester_finding
 * rule starts at the newest audit event (it does not alert on scans run before it existed).
 * The evaluator (server/alerts/evaluate-alerts.ts) reads the rows at its next pass.
 */
import "server-only";
import { randomUUID } from "node:crypto";
import { type AlertRuleKind, alertRuleParams } from "@/server/alerts/alert-rule";
import { type Db, inTransaction, type Tx } from "@/server/db/prisma";
import { type Actor, recordActivity, SYSTEM_ACTOR } from "@/server/domain/activity/record-activity";
import { AppError, notFound, validationError } from "@/server/domain/errors";
import { type AlertRuleInput, type AlertRulePatch, MAX_ALERT_RULES } from "./alert-input";

export interface AlertRuleView {
  id: string;
  name: string;
  kind: AlertRuleKind;
  tenant: string | null;
  params: Record<string, unknown>;
  webhookIds: string[];
  enabled: boolean;
  createdAt: string;
  createdBy: string | null;
  updatedAt: string;
}

type RuleRow = {
  id: string;
  name: string;
  kind: AlertRuleKind;
  tenant: string | null;
  params: unknown;
  webhookIds: string[];
  enabled: boolean;
  createdAt: Date;
  createdBy: string | null;
  updatedAt: Date;
};

function toView(row: RuleRow): AlertRuleView {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    tenant: row.tenant,
    params: (row.params ?? {}) as Record<string, unknown>,
    webhookIds: row.webhookIds,
    enabled: row.enabled,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    updatedAt: row.updatedAt.toISOString(),
  };
}

export async function listAlertRules(options: { db: Db }): Promise<AlertRuleView[]> {
  const rows = await options.db.alertRule.findMany({ orderBy: { name: "asc" } });
  return rows.map(toView);
}

async function checkReferences(db: Db, tenant: string | null | undefined, webhookIds: string[] | undefined) {
  if (tenant) {
    const found = await db.tenant.findUnique({ where: { slug: tenant }, select: { id: true } });
    if (!found) throw validationError(`No tenant "${tenant}"`, [{ path: "tenant", message: "no such tenant" }]);
  }
  if (webhookIds && webhookIds.length > 0) {
    const found = await db.alertWebhook.count({ where: { id: { in: webhookIds } } });
    if (found !== webhookIds.length) {
      throw validationError("A webhook does not exist", [{ path: "webhookIds", message: "unknown webhook id" }]);
    }
  }
}

async function newestAuditId(tx: Tx): Promise<bigint> {
  const rows = await tx.$queryRawUnsafe<Array<{ id: string }>>(
    "select coalesce(max(id), 0)::text as id from audit_event",
  );
  return BigInt(rows[0]?.id ?? "0");
}

function ruleScope(input: { kind: string; tenant: string | null }): string {
  return `${input.kind}, ${input.tenant ? `tenant ${input.tenant}` : "every tenant"}`;
}

export async function createAlertRule(options: {
  db: Db;
  input: AlertRuleInput;
  actor: Actor;
}): Promise<AlertRuleView> {
  const { input } = options;
  await checkReferences(options.db, input.tenant, input.webhookIds);
  if ((await options.db.alertRule.count()) >= MAX_ALERT_RULES) {
    throw new AppError("conflict", `At most ${MAX_ALERT_RULES} alert rules; remove one first`);
  }
  try {
    const row = await inTransaction(options.db, async (tx) => {
      const created = await tx.alertRule.create({
        data: {
          id: randomUUID(),
          name: input.name,
          kind: input.kind,
          tenant: input.tenant,
          params: input.params as object,
          webhookIds: input.webhookIds,
          enabled: input.enabled,
          cursor: input.kind === "tester_finding" ? await newestAuditId(tx) : null,
          createdBy: options.actor.label,
        },
      });
      await recordActivity(tx, {
        actor: options.actor,
        action: "alert_rule.create",
        target: input.name,
        summary: `Added alert rule "${input.name}" (${ruleScope(input)}${input.enabled ? "" : ", disabled"})`,
        details: { ruleId: created.id },
      });
      return created;
    });
    return toView(row);
  } catch (error) {
    if ((error as { code?: unknown }).code === "P2002") {
      throw new AppError("conflict", `An alert rule named "${input.name}" already exists`, { cause: error });
    }
    throw error;
  }
}

export async function findAlertRule(db: Db, id: string) {
  const row = UUID.test(id) ? await db.alertRule.findUnique({ where: { id } }) : null;
  if (!row) throw notFound("Alert rule");
  return row;
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function updateAlertRule(options: {
  db: Db;
  id: string;
  patch: AlertRulePatch;
  actor?: Actor;
}): Promise<AlertRuleView> {
  const current = await findAlertRule(options.db, options.id);
  const { patch } = options;
  let params: Record<string, unknown> | undefined;
  if (patch.params !== undefined) {
    const parsed = alertRuleParams[current.kind].safeParse(patch.params);
    if (!parsed.success) {
      throw validationError(
        "The rule's parameters are invalid",
        parsed.error.issues.map((i) => ({ path: ["params", ...i.path.map(String)].join("."), message: i.message })),
      );
    }
    params = parsed.data as Record<string, unknown>;
  }
  await checkReferences(options.db, patch.tenant, patch.webhookIds);
  const changes = [
    patch.name !== undefined && patch.name !== current.name ? `renamed to "${patch.name}"` : null,
    patch.tenant !== undefined && patch.tenant !== current.tenant ? `tenant ${patch.tenant ?? "(every tenant)"}` : null,
    params !== undefined ? `parameters ${JSON.stringify(params)}` : null,
    patch.webhookIds !== undefined ? `${patch.webhookIds.length || "every"} webhook(s)` : null,
    patch.enabled !== undefined && patch.enabled !== current.enabled ? (patch.enabled ? "enabled" : "disabled") : null,
  ].filter((c): c is string => c !== null);
  try {
    const row = await inTransaction(options.db, async (tx) => {
      const updated = await tx.alertRule.update({
        where: { id: current.id },
        data: {
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.tenant !== undefined ? { tenant: patch.tenant } : {}),
          ...(params !== undefined ? { params: params as object } : {}),
          ...(patch.webhookIds !== undefined ? { webhookIds: [...new Set(patch.webhookIds)] } : {}),
          ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
        },
      });
      await recordActivity(tx, {
        actor: options.actor ?? SYSTEM_ACTOR("internal"),
        action: "alert_rule.update",
        target: updated.name,
        summary: `Changed alert rule "${current.name}": ${changes.length > 0 ? changes.join(", ") : "nothing"}`,
        details: { ruleId: current.id },
      });
      return updated;
    });
    return toView(row);
  } catch (error) {
    if ((error as { code?: unknown }).code === "P2002") {
      throw new AppError("conflict", `An alert rule named "${patch.name}" already exists`, { cause: error });
    }
    throw error;
  }
}

/** Removes a rule; its open alerts are closed by the next evaluation (without a message). */
export async function deleteAlertRule(options: { db: Db; id: string; actor?: Actor }): Promise<void> {
  const row = await findAlertRule(options.db, options.id);
  await inTransaction(options.db, async (tx) => {
    await tx.alertRule.delete({ where: { id: row.id } });
    await recordActivity(tx, {
      actor: options.actor ?? SYSTEM_ACTOR("internal"),
      action: "alert_rule.delete",
      target: row.name,
      summary: `Removed alert rule "${row.name}" (${ruleScope(row)})`,
      details: { ruleId: row.id },
    });
  });
}
