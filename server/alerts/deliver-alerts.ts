/**
 * The delivery worker: sends the due `alert_delivery` rows (pending, next_attempt_at passed),
 * signed with their webhook's secret, and records each attempt (delivery-state.ts).
 *
 * Several processes may run it at once: a batch is claimed by moving its next_attempt_at past
 * the request timeout under `for update skip locked`, so a row is sent by one process at a
 * time and no transaction stays open across an HTTP request. A process that dies mid-send
 * leaves the row to be retried after the lease (at-least-once; receivers keep one per
 * `alert.id` + `event`). A webhook's secret that cannot be opened fails the attempt with that
 * reason (never the value).
 */
import type { Resolver } from "../net/pinned-lookup";
import type { SecretBox } from "../secrets/secret-box";
import { type AttemptOutcome, afterAttempt } from "./delivery-state";
import { postSignedWebhook, WEBHOOK_TIMEOUT_MS } from "./post-webhook";
import type { Queryable } from "./raise-alert";
import { openWebhookSecret } from "./webhook-secret";

const BATCH = 20;

export interface DeliverOptions {
  secrets: SecretBox | null;
  /** First retry delay; later ones triple (delivery-state.ts). */
  backoffBaseMs?: number;
  resolve?: Resolver;
  timeoutMs?: number;
}

interface DueRow {
  id: string;
  webhookId: string;
  url: string;
  secret: string;
  payload: string;
  attempts: number;
  log: unknown;
}

/** Sends every due delivery (in batches); returns how many attempts were made. */
export async function deliverDueAlerts(db: Queryable, options: DeliverOptions): Promise<number> {
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  let attempted = 0;
  for (;;) {
    const { rows } = await db.query<DueRow>(
      `update alert_delivery d set next_attempt_at = now() + make_interval(secs => $1)
         from alert_webhook w
        where w.id = d.webhook_id and d.id in (
          select d2.id from alert_delivery d2 join alert_webhook w2 on w2.id = d2.webhook_id
           where d2.status = 'pending' and d2.next_attempt_at <= now() and w2.enabled
           order by d2.next_attempt_at, d2.id limit ${BATCH} for update of d2 skip locked)
        returning d.id::text as id, d.webhook_id as "webhookId", w.url, w.secret, d.payload, d.attempts, d.log`,
      [Math.ceil(timeoutMs / 1000) * 2],
    );
    if (rows.length === 0) return attempted;
    await Promise.all(rows.map((row) => attemptDelivery(db, row, options)));
    attempted += rows.length;
  }
}

export async function attemptDelivery(db: Queryable, row: DueRow, options: DeliverOptions): Promise<void> {
  let outcome: AttemptOutcome;
  try {
    const secret = openWebhookSecret(options.secrets, row.webhookId, row.secret);
    const status = await postSignedWebhook({
      url: row.url,
      secret,
      body: row.payload,
      resolve: options.resolve,
      timeoutMs: options.timeoutMs,
    });
    outcome = { status };
  } catch (error) {
    outcome = { error: (error as Error).message };
  }
  const next = afterAttempt(row, outcome, new Date(), options.backoffBaseMs);
  await db.query(
    `update alert_delivery set status = $2, attempts = $3, next_attempt_at = $4, last_attempt_at = $5,
            response_status = $6, error = $7, log = $8 where id = $1`,
    [
      row.id,
      next.status,
      next.attempts,
      next.nextAttemptAt,
      next.lastAttemptAt,
      next.responseStatus,
      next.error,
      JSON.stringify(next.log),
    ],
  );
}
