/**
 * Body of `POST /api/v1/tenants/<slug>/endpoints`: `{ url, label? }`. The URL is stored in
 * the gateway's canonical spelling (server/tester/endpoint-url.ts), which is what the
 * gateway compares requested targets with. Browser-safe.
 */
import { z } from "zod";
import { normalizeEndpointUrl } from "@/server/tester/endpoint-url";

export const MAX_ENDPOINTS_PER_TENANT = 100;

export const endpointInput = z.strictObject({
  url: z.string().transform((value, ctx) => {
    const result = normalizeEndpointUrl(value);
    if (!result.ok) {
      ctx.addIssue({ code: "custom", message: result.message });
      return z.NEVER;
    }
    return result.url;
  }),
  label: z
    .string()
    .trim()
    .max(100, "at most 100 characters")
    .nullish()
    .transform((v) => (v ? v : null)),
});

export type EndpointInput = z.output<typeof endpointInput>;
