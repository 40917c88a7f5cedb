/**
 * The JSON bodies alert webhooks receive (one definition; README "Alerts" documents them).
 *
 *   { "type": "alert", "event": "firing" | "resolved", "alert": { id, rule: { id, name },
 *     kind, tenant, key, summary, details, firedAt, resolvedAt } }
 *   { "type": "test", "event": "test", "webhook": { id, name }, "ts", "message" }
 *
 * `alert.id` is stable across the firing and resolved messages of one alert, so a receiver
 * can pair them (and drop a repeat: delivery is at-least-once).
 */
import type { AlertRuleKind } from "./alert-rule";

export interface AlertRecord {
  id: string;
  ruleId: string;
  ruleName: string;
  kind: AlertRuleKind;
  tenant: string | null;
  key: string;
  summary: string;
  details: Record<string, unknown>;
  firedAt: Date;
  resolvedAt: Date | null;
}

export type AlertEvent = "firing" | "resolved";

export function alertPayload(event: AlertEvent, alert: AlertRecord): string {
  return JSON.stringify({
    type: "alert",
    event,
    alert: {
      id: alert.id,
      rule: { id: alert.ruleId, name: alert.ruleName },
      kind: alert.kind,
      tenant: alert.tenant,
      key: alert.key,
      summary: alert.summary,
      details: alert.details,
      firedAt: alert.firedAt.toISOString(),
      resolvedAt: alert.resolvedAt?.toISOString() ?? null,
    },
  });
}

export function testPayload(webhook: { id: string; name: string }, now = new Date()): string {
  return JSON.stringify({
    type: "test",
    event: "test",
    webhook: { id: webhook.id, name: webhook.name },
    ts: now.toISOString(),
    message: "A test message from OriginGate: this webhook receives alerts.",
  });
}
