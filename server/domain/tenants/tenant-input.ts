/** Boundary schemas for tenant input (API bodies, UI forms, ctl). Browser-safe. */
import { z } from "zod";

import { slugSchema } from "../../tenant-slug";

export { SLUG_PATTERN, slugSchema } from "../../tenant-slug";

export const tenantNameSchema = z.string().trim().min(1, "required").max(120, "at most 120 characters");

/** ws:// or wss:// base URL without credentials, query or fragment; trailing slashes dropped. */
export const upstreamUrlSchema = z
  .string()
  .trim()
  .max(2048, "at most 2048 characters")
  .transform((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "must be a URL such as wss://backend.internal:9000/socket" });
      return z.NEVER;
    }
    if (url.protocol !== "ws:" && url.protocol !== "wss:") {
      // The gateway relays WebSockets: an http(s) URL is the most common slip, so say what to write.
      const twin = url.protocol === "http:" ? "ws" : url.protocol === "https:" ? "wss" : null;
      ctx.addIssue({
        code: "custom",
        message: `must start with ws:// or wss:// (got ${url.protocol}//)${
          twin
            ? `: the upstream is the WebSocket server the gateway relays to — did you mean ${twin}://${url.host}${url.pathname === "/" ? "" : url.pathname}?`
            : ""
        }`,
      });
      return z.NEVER;
    }
    if (url.username || url.password) {
      ctx.addIssue({ code: "custom", message: "must not contain a user name or password" });
      return z.NEVER;
    }
    if (url.search || url.hash || value.includes("?") || value.includes("#")) {
      ctx.addIssue({
        code: "custom",
        message: "must not contain a query (?) or fragment (#): the client's path and query are appended",
      });
      return z.NEVER;
    }
    if (!url.hostname) {
      ctx.addIssue({ code: "custom", message: "needs a host" });
      return z.NEVER;
    }
    return url.toString().replace(/\/+$/, "");
  });

/**
 * null or "" = no upstream (the gateway echoes). Not a z.union: a union that fails reports
 * only "Invalid input", hiding the URL check's own message (e.g. that http:// is not ws://).
 */
const optionalUpstream = z
  .string({ error: "must be a ws:// or wss:// URL, or empty for no upstream" })
  .nullable()
  .transform((value, ctx) => {
    if (value === null || value === "") return null;
    const checked = upstreamUrlSchema.safeParse(value);
    if (checked.success) return checked.data;
    for (const issue of checked.error.issues) ctx.addIssue({ code: "custom", message: issue.message });
    return z.NEVER;
  })
  .optional();

export const createTenantInput = z
  .object({
    slug: slugSchema,
    name: tenantNameSchema,
    upstreamUrl: optionalUpstream,
  })
  .strict();

/**
 * Where the tenant's policy is managed when it is managed by code (free text, typically the
 * repository URL; shown in the dashboard's banner). null or "" removes the mark.
 */
export const managedBySchema = z.union([
  z.literal("").transform(() => null),
  z.null(),
  z
    .string()
    .trim()
    .min(1, "required")
    .max(300, "at most 300 characters")
    .regex(/^[^\p{Cc}\p{Cf}]*$/u, "must not contain control characters"),
]);

export const updateTenantInput = z
  .object({
    name: tenantNameSchema.optional(),
    upstreamUrl: optionalUpstream,
    managedBy: managedBySchema.optional(),
    /** Two-person rule (SPEC §5.2): changes wait for a second person's approval. */
    requireApproval: z.boolean().optional(),
    slug: z
      .never({ error: "the slug is immutable (it is in every client's URL); create a new tenant instead" })
      .optional(),
  })
  .strict();

/** Token-secret rotation (SPEC §7): how long the replaced secret stays valid. */
export const DEFAULT_SECRET_OVERLAP_SECONDS = 300;
export const MAX_SECRET_OVERLAP_SECONDS = 86_400;

export const rotateSecretInput = z
  .object({
    overlapSeconds: z
      .number({ error: "must be a whole number of seconds" })
      .int("must be a whole number of seconds")
      .min(0, "must be 0 (no overlap) or more")
      .max(MAX_SECRET_OVERLAP_SECONDS, `at most ${MAX_SECRET_OVERLAP_SECONDS} seconds (24 hours)`)
      .default(DEFAULT_SECRET_OVERLAP_SECONDS),
  })
  .strict();
