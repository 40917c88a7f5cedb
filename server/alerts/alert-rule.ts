/**
 * Alert rules (SPEC §5.2): the kinds, each kind's parameters with their defaults, and the one
 * validation of them (API bodies and the `params` JSON read back from the database).
 *
 *  - rejection_spike: refused handshakes/requests in the last `windowMinutes` reach `minCount`
 *    and exceed `factor` times the average of the same window over the `baselineHours` before;
 *  - new_rejected_origin: an origin refused at least `minCount` times in the last
 *    `windowMinutes` that was never refused in the `baselineDays` before;
 *  - gateway_stale: a gateway whose heartbeat is older than `staleAfterSeconds` (it died or
 *    hangs; a graceful stop is not an alert), or that has enforced an older version of a
 *    tenant's policy than the saved one for more than `behindAfterSeconds`;
 *  - audit_unhealthy: a live gateway whose audit trail is `stalled` or `dropping` (its
 *    heartbeat reports what /healthz says), or `dropped` rows written in the last `windowMinutes`;
 *  - tester_finding: a tester scan that reported findings (one alert per scan);
 *  - rollout_guard_tripped: raised by the staged-rollout guard through raiseAlert().
 *
 * Tester traffic never counts as a rejection (it is `kind = 'tester'`). Browser-safe, pure.
 */
import { z } from "zod";

export const ALERT_RULE_KINDS = [
  "rejection_spike",
  "new_rejected_origin",
  "gateway_stale",
  "audit_unhealthy",
  "tester_finding",
  "rollout_guard_tripped",
] as const;
export type AlertRuleKind = (typeof ALERT_RULE_KINDS)[number];

/** Kinds whose alerts are events (raised once, resolved at once), not conditions that hold. */
export const ONE_SHOT_KINDS: ReadonlySet<AlertRuleKind> = new Set(["tester_finding", "rollout_guard_tripped"]);

const int = (min: number, max: number, fallback: number) => z.number().int().min(min).max(max).default(fallback);

export const alertRuleParams = {
  rejection_spike: z.strictObject({
    windowMinutes: int(1, 1440, 5),
    baselineHours: int(1, 168, 24),
    factor: z.number().min(1).max(1000).default(3),
    minCount: int(1, 1_000_000_000, 20),
  }),
  new_rejected_origin: z.strictObject({
    windowMinutes: int(1, 1440, 15),
    baselineDays: int(1, 90, 7),
    minCount: int(1, 1_000_000_000, 1),
  }),
  gateway_stale: z.strictObject({
    staleAfterSeconds: int(5, 86_400, 60),
    behindAfterSeconds: int(5, 86_400, 60),
  }),
  audit_unhealthy: z.strictObject({ windowMinutes: int(1, 1440, 5) }),
  tester_finding: z.strictObject({}),
  rollout_guard_tripped: z.strictObject({}),
} as const satisfies Record<AlertRuleKind, z.ZodType>;

export type AlertRuleParams = { [K in AlertRuleKind]: z.output<(typeof alertRuleParams)[K]> };

/** Plain words for each kind (dashboard, payloads). */
export const ALERT_KIND_LABELS: Record<AlertRuleKind, string> = {
  rejection_spike: "Rejection spike against a baseline",
  new_rejected_origin: "Newly rejected origin",
  gateway_stale: "Gateway stale or behind",
  audit_unhealthy: "Audit stalled or dropping",
  tester_finding: "Tester finding",
  rollout_guard_tripped: "Staged-version guard tripped",
};

/** A rule's parameters with defaults filled in; throws a ZodError when they are invalid. */
export function parseAlertRuleParams<K extends AlertRuleKind>(kind: K, params: unknown): AlertRuleParams[K] {
  return alertRuleParams[kind].parse(params ?? {}) as AlertRuleParams[K];
}

/** A rule as the evaluator reads it. */
export interface AlertRuleRow {
  id: string;
  name: string;
  kind: AlertRuleKind;
  tenant: string | null;
  params: unknown;
  webhookIds: string[];
  cursor: string | null;
}
