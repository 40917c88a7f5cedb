/**
 * Inputs of the impact preview and the entry usage (SPEC §10), validated at the boundary:
 * a bad value is a ZodError, answered with 422 and `details: [{ path, message }]`. The draft
 * document itself is validated by the gateway's own rules in previewImpact (422 likewise).
 */
import { z } from "zod";

/** How far back a preview or the usage may look: the audit trail keeps at most this much anyway. */
export const MAX_WINDOW_DAYS = 400;
export const DEFAULT_IMPACT_DAYS = 7;
export const DEFAULT_UNUSED_DAYS = 30;

/** `POST /api/v1/tenants/<slug>/policy/impact` body. */
export const impactInput = z
  .object({
    document: z.unknown().meta({ description: "The draft policy document (as for PUT .../policy)." }),
    since: z.iso
      .datetime({ offset: true })
      .optional()
      .meta({ description: "Start of the replayed window (aligned down to the UTC day); default 7 days ago." }),
  })
  .strict();

/** `GET /api/v1/tenants/<slug>/policy/usage` query. */
export const usageQuery = z
  .object({
    days: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_WINDOW_DAYS)
      .optional()
      .meta({ description: "An entry with no match in this many days is flagged unused (default 30)." }),
  })
  .strict();
