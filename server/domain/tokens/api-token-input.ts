/** Boundary schema for creating an API token. Browser-safe. */
import { z } from "zod";
import { ROLES } from "../auth/permissions";
import { slugSchema } from "../tenants/tenant-input";

/** The most API_TOKEN_MAX_DAYS may be set to; the configured maximum is checked by createApiToken. */
export const TOKEN_DAYS_LIMIT = 3650;

export const createApiTokenInput = z
  .object({
    name: z
      .string()
      .trim()
      .min(1, "required")
      .max(100, "at most 100 characters")
      .regex(/^[\w .:@/-]+$/, "letters, digits, spaces and . _ : @ / - only"),
    role: z.enum(ROLES),
    /** Lifetime in days; default API_TOKEN_DEFAULT_DAYS, at most API_TOKEN_MAX_DAYS. */
    expiresInDays: z
      .number({ error: "must be a whole number of days" })
      .int("must be a whole number of days")
      .min(1, "at least 1 day")
      .max(TOKEN_DAYS_LIMIT, `at most ${TOKEN_DAYS_LIMIT} days`)
      .optional(),
    /**
     * Scoped for policy as code: may write the policy of a tenant managed by code (what
     * `ctl policy:apply` needs); every other token and session gets 409 managed_by_code there.
     */
    policyAsCode: z.boolean().default(false),
    /** Limit the token to one tenant (its slug); absent or null = every tenant. */
    tenant: z.union([z.null(), z.literal("").transform(() => null), slugSchema]).optional(),
  })
  .strict();
