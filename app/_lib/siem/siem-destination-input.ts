/**
 * Bodies of `POST /api/v1/siem-destinations` (`{ name, kind, url, enabled? }`) and `PATCH
 * /api/v1/siem-destinations/<id>` (`{ name?, url?, enabled?, rotateSecret? }`). URLs are
 * stored in their canonical spelling (server/siem/destination-url.ts). Browser-safe.
 */
import { z } from "zod";
import { normalizeSiemUrl } from "@/server/siem/destination-url";

export const MAX_SIEM_DESTINATIONS = 20;
export const SIEM_KINDS = ["syslog", "webhook"] as const;

const name = z
  .string()
  .trim()
  .min(1, "a name is required")
  .max(64, "at most 64 characters")
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, "letters, digits, spaces, '.', '_' and '-' only (it labels metrics)");

export const siemDestinationInput = z
  .strictObject({
    name,
    kind: z.enum(SIEM_KINDS),
    url: z.string(),
    enabled: z.boolean().default(true),
  })
  .transform((input, ctx) => {
    const result = normalizeSiemUrl(input.kind, input.url);
    if (!result.ok) {
      ctx.addIssue({ code: "custom", path: ["url"], message: result.message });
      return z.NEVER;
    }
    return { ...input, url: result.url };
  });

export type SiemDestinationInput = z.output<typeof siemDestinationInput>;

/** The URL is checked against the destination's kind by the domain function (it knows the kind). */
export const siemDestinationPatch = z
  .strictObject({
    name: name.optional(),
    url: z.string().optional(),
    enabled: z.boolean().optional(),
    /** A webhook's new signing secret, returned once. */
    rotateSecret: z.literal(true).optional(),
  })
  .refine((p) => Object.keys(p).length > 0, { message: "nothing to change" });

export type SiemDestinationPatch = z.output<typeof siemDestinationPatch>;
