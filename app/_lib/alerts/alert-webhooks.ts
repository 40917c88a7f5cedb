/**
 * Alert webhooks: list, register, change, remove, send a test (admins; SPEC §5.2). Same rules
 * as SIEM destinations (app/_lib/siem/): a host name must resolve to public addresses (an
 * internal address only as a literal), the signing secret is generated here, sealed with
 * SECRETS_KEY and returned once (at creation or rotation), and every write records its
 * activity entry (`alert_webhook.create|update|delete|test`, never the secret) in the same
 * transaction. Removing a webhook removes its delivery log and takes it out of every rule.
 *
 * "Send test" queues a `test` delivery and makes its first attempt at once, so the admin sees
 * the receiver's answer; a failed test is retried like any delivery.
 */
import "server-only";
import { randomUUID } from "node:crypto";
import { checkDestinationHost } from "@/app/_lib/siem/check-destination-host";
import { testPayload } from "@/server/alerts/alert-payload";
import { afterAttempt } from "@/server/alerts/delivery-state";
import { postSignedWebhook } from "@/server/alerts/post-webhook";
import { openWebhookSecret, sealWebhookSecret } from "@/server/alerts/webhook-secret";
import { type Db, inTransaction } from "@/server/db/prisma";
import { type Actor, recordActivity, SYSTEM_ACTOR } from "@/server/domain/activity/record-activity";
import { AppError, notFound } from "@/server/domain/errors";
import type { Resolver } from "@/server/net/pinned-lookup";
import { newWebhookSecret } from "@/server/net/webhook-signature";
import type { SecretBox } from "@/server/secrets/secret-box";
import { configuredSecretBox } from "@/server/secrets/secrets-key";
import { type AlertWebhookInput, type AlertWebhookPatch, MAX_ALERT_WEBHOOKS } from "./alert-input";
import { type AlertDeliveryView, toDeliveryView } from "./alert-log";
import { UUID } from "./alert-rules";

export interface AlertWebhookView {
  id: string;
  name: string;
  url: string;
  enabled: boolean;
  createdAt: string;
  createdBy: string | null;
  updatedAt: string;
}

type WebhookRow = {
  id: string;
  name: string;
  url: string;
  enabled: boolean;
  createdAt: Date;
  createdBy: string | null;
  updatedAt: Date;
};

function toView(row: WebhookRow): AlertWebhookView {
  return {
    id: row.id,
    name: row.name,
    url: row.url,
    enabled: row.enabled,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    updatedAt: row.updatedAt.toISOString(),
  };
}

export async function listAlertWebhooks(options: { db: Db }): Promise<AlertWebhookView[]> {
  const rows = await options.db.alertWebhook.findMany({ orderBy: { name: "asc" } });
  return rows.map(toView);
}

function conflictOnName(error: unknown, name: string | undefined): never {
  if ((error as { code?: unknown }).code === "P2002") {
    throw new AppError("conflict", `An alert webhook named "${name}" already exists`, { cause: error });
  }
  throw error;
}

export async function createAlertWebhook(options: {
  db: Db;
  input: AlertWebhookInput;
  actor: Actor;
  secrets?: SecretBox | null;
  resolve?: Resolver;
}): Promise<{ webhook: AlertWebhookView; secret: string }> {
  const { input } = options;
  await checkDestinationHost(new URL(input.url).hostname, options.resolve);
  if ((await options.db.alertWebhook.count()) >= MAX_ALERT_WEBHOOKS) {
    throw new AppError("conflict", `At most ${MAX_ALERT_WEBHOOKS} alert webhooks; remove one first`);
  }
  const id = randomUUID();
  const secret = newWebhookSecret();
  const secrets = options.secrets === undefined ? configuredSecretBox() : options.secrets;
  try {
    const row = await inTransaction(options.db, async (tx) => {
      const created = await tx.alertWebhook.create({
        data: {
          id,
          name: input.name,
          url: input.url,
          enabled: input.enabled,
          secret: sealWebhookSecret(secrets, id, secret),
          createdBy: options.actor.label,
        },
      });
      await recordActivity(tx, {
        actor: options.actor,
        action: "alert_webhook.create",
        target: input.name,
        summary: `Added alert webhook "${input.name}" (${input.url}${input.enabled ? "" : ", disabled"})`,
        details: { webhookId: id },
      });
      return created;
    });
    return { webhook: toView(row), secret };
  } catch (error) {
    conflictOnName(error, input.name);
  }
}

export async function findAlertWebhook(db: Db, id: string) {
  const row = UUID.test(id) ? await db.alertWebhook.findUnique({ where: { id } }) : null;
  if (!row) throw notFound("Alert webhook");
  return row;
}

export async function updateAlertWebhook(options: {
  db: Db;
  id: string;
  patch: AlertWebhookPatch;
  actor?: Actor;
  secrets?: SecretBox | null;
  resolve?: Resolver;
}): Promise<{ webhook: AlertWebhookView; secret: string | null }> {
  const current = await findAlertWebhook(options.db, options.id);
  const { patch } = options;
  if (patch.url !== undefined) await checkDestinationHost(new URL(patch.url).hostname, options.resolve);
  const secret = patch.rotateSecret ? newWebhookSecret() : null;
  const secrets = options.secrets === undefined ? configuredSecretBox() : options.secrets;
  const changes = [
    patch.name !== undefined && patch.name !== current.name ? `renamed to "${patch.name}"` : null,
    patch.url !== undefined && patch.url !== current.url ? `URL ${patch.url}` : null,
    patch.enabled !== undefined && patch.enabled !== current.enabled ? (patch.enabled ? "enabled" : "disabled") : null,
    secret !== null ? "new signing secret" : null,
  ].filter((c): c is string => c !== null);
  try {
    const row = await inTransaction(options.db, async (tx) => {
      const updated = await tx.alertWebhook.update({
        where: { id: current.id },
        data: {
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.url !== undefined ? { url: patch.url } : {}),
          ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
          ...(secret !== null ? { secret: sealWebhookSecret(secrets, current.id, secret) } : {}),
        },
      });
      await recordActivity(tx, {
        actor: options.actor ?? SYSTEM_ACTOR("internal"),
        action: "alert_webhook.update",
        target: updated.name,
        summary: `Changed alert webhook "${current.name}": ${changes.length > 0 ? changes.join(", ") : "nothing"}`,
        details: { webhookId: current.id },
      });
      return updated;
    });
    return { webhook: toView(row), secret };
  } catch (error) {
    conflictOnName(error, patch.name);
  }
}

export async function deleteAlertWebhook(options: { db: Db; id: string; actor?: Actor }): Promise<void> {
  const row = await findAlertWebhook(options.db, options.id);
  await inTransaction(options.db, async (tx) => {
    await tx.$executeRawUnsafe(
      "update alert_rule set webhook_ids = array_remove(webhook_ids, $1::uuid) where $1::uuid = any(webhook_ids)",
      row.id,
    );
    await tx.alertWebhook.delete({ where: { id: row.id } });
    await recordActivity(tx, {
      actor: options.actor ?? SYSTEM_ACTOR("internal"),
      action: "alert_webhook.delete",
      target: row.name,
      summary: `Removed alert webhook "${row.name}" (${row.url})`,
      details: { webhookId: row.id },
    });
  });
}

/** Queues a signed test message to the webhook and makes its first attempt now. */
export async function sendTestAlert(options: {
  db: Db;
  id: string;
  actor: Actor;
  secrets?: SecretBox | null;
  resolve?: Resolver;
}): Promise<AlertDeliveryView> {
  const webhook = await findAlertWebhook(options.db, options.id);
  const secrets = options.secrets === undefined ? configuredSecretBox() : options.secrets;
  const payload = testPayload(webhook);
  const queued = await inTransaction(options.db, async (tx) => {
    const delivery = await tx.alertDelivery.create({
      data: { webhookId: webhook.id, event: "test", payload, nextAttemptAt: new Date(Date.now() + 60_000) },
    });
    await recordActivity(tx, {
      actor: options.actor,
      action: "alert_webhook.test",
      target: webhook.name,
      summary: `Sent a test alert to "${webhook.name}" (${webhook.url})`,
      details: { webhookId: webhook.id, deliveryId: delivery.id.toString() },
    });
    return delivery;
  });
  let outcome: { status: number } | { error: string };
  try {
    const secret = openWebhookSecret(secrets, webhook.id, webhook.secret);
    outcome = {
      status: await postSignedWebhook({ url: webhook.url, secret, body: payload, resolve: options.resolve }),
    };
  } catch (error) {
    outcome = { error: (error as Error).message };
  }
  const next = afterAttempt(queued, outcome, new Date());
  const updated = await options.db.alertDelivery.update({
    where: { id: queued.id },
    data: { ...next, log: next.log as unknown as object },
    include: { webhook: { select: { name: true } } },
  });
  return toDeliveryView(updated);
}
