/** Boundary schema for creating an API token. Browser-safe. */
import { z } from "zod";
import { ROLES } from "../auth/permissions";

export const createApiTokenInput = z.object({
  name: z
    .string()
    .trim()
    .min(1, "required")
    .max(100, "at most 100 characters")
    .regex(/^[\w .:@/-]+$/, "letters, digits, spaces and . _ : @ / - only"),
  role: z.enum(ROLES),
  /**
   * Scoped for policy as code: may write the policy of a tenant managed by code (what
   * `ctl policy:apply` needs); every other token and session gets 409 managed_by_code there.
   */
  policyAsCode: z.boolean().default(false),
});
