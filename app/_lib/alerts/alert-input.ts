/**
 * Bodies of the alert API (SPEC §5.2, §10): rules `{ name, kind, tenant?, params?, webhookIds?,
 * enabled? }` and webhooks `{ name, url, enabled? }`, and their PATCHes. A rule's params are
 * checked against its kind and stored with defaults filled in (server/alerts/alert-rule.ts);
 * webhook URLs are http(s), stored in their canonical spelling. Browser-safe.
 */
import { z } from "zod";
import { ALERT_RULE_KINDS, alertRuleParams } from "@/server/alerts/alert-rule";
import { normalizeSiemUrl } from "@/server/siem/destination-url";

export const MAX_ALERT_RULES = 100;
export const MAX_ALERT_WEBHOOKS = 20;

const name = z
  .string()
  .trim()
  .min(1, "a name is required")
  .max(64, "at most 64 characters")
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, "letters, digits, spaces, '.', '_' and '-' only");

const tenant = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "a tenant slug")
  .nullable();

const webhookIds = z.array(z.uuid("a webhook id")).max(MAX_ALERT_WEBHOOKS);

export const alertRuleInput = z
  .strictObject({
    name,
    kind: z.enum(ALERT_RULE_KINDS),
    /** A tenant's slug; null or absent: every tenant. */
    tenant: tenant.optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    webhookIds: webhookIds.optional(),
    enabled: z.boolean().default(true),
  })
  .transform((input, ctx) => {
    const parsed = alertRuleParams[input.kind].safeParse(input.params ?? {});
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({ code: "custom", path: ["params", ...issue.path.map(String)], message: issue.message });
      }
      return z.NEVER;
    }
    return {
      ...input,
      tenant: input.tenant ?? null,
      params: parsed.data as Record<string, unknown>,
      webhookIds: [...new Set(input.webhookIds ?? [])],
    };
  });
export type AlertRuleInput = z.output<typeof alertRuleInput>;

/** Params are checked against the rule's kind by the domain function (it knows the kind). */
export const alertRulePatch = z
  .strictObject({
    name: name.optional(),
    tenant: tenant.optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    webhookIds: webhookIds.optional(),
    enabled: z.boolean().optional(),
  })
  .refine((p) => Object.keys(p).length > 0, { message: "nothing to change" });
export type AlertRulePatch = z.output<typeof alertRulePatch>;

const webhookUrl = z.string().transform((value, ctx) => {
  const result = normalizeSiemUrl("webhook", value);
  if (!result.ok) {
    ctx.addIssue({ code: "custom", message: result.message });
    return z.NEVER;
  }
  return result.url;
});

export const alertWebhookInput = z.strictObject({
  name,
  url: webhookUrl,
  enabled: z.boolean().default(true),
});
export type AlertWebhookInput = z.output<typeof alertWebhookInput>;

export const alertWebhookPatch = z
  .strictObject({
    name: name.optional(),
    url: webhookUrl.optional(),
    enabled: z.boolean().optional(),
    /** A new signing secret, returned once. */
    rotateSecret: z.literal(true).optional(),
  })
  .refine((p) => Object.keys(p).length > 0, { message: "nothing to change" });
export type AlertWebhookPatch = z.output<typeof alertWebhookPatch>;

/** `GET /api/v1/alerts` and `/api/v1/alert-deliveries`: newest first, keyset by id. */
export const alertListQuery = z.strictObject({
  cursor: z
    .string()
    .regex(/^\d{1,19}$/, "a cursor from a previous page")
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  webhook: z.uuid("a webhook id").optional(),
});
export type AlertListQuery = z.output<typeof alertListQuery>;

/** `GET /api/v1/alerts`: the same pages, without the webhook filter. */
export const alertsQuery = alertListQuery.omit({ webhook: true });
