/**
 * Request bodies of the CORS tester (`POST /api/v1/tester/cors` and
 * `POST /api/v1/tester/cors-scan`, SPEC §8 for HTTP), validated with zod on the dashboard and
 * again on the gateway. Same target rules and header rules as the handshake tester
 * (server/tester/input.ts): a tenant of this gateway or a registered endpoint; Origin,
 * Cookie and Authorization have their own fields; no header that would change the request
 * itself. The CORS request fields (`method`, `preflight`, `requestHeaders`) are sent as the
 * method or, for a preflight, as `Access-Control-Request-Method/Headers`.
 *
 * Browser-safe (zod only).
 */
import { z } from "zod";
import { HTTP_TOKEN } from "../policy/document";
import { common, headerValue, LIMITS, targetRules } from "./input";

/** Extra headers a CORS run may not set: its own fields carry them. */
const CORS_FIELD_HEADERS = new Set(["access-control-request-method", "access-control-request-headers"]);

const headers = common.headers.superRefine((value, ctx) => {
  for (const name of Object.keys(value ?? {})) {
    if (CORS_FIELD_HEADERS.has(name.toLowerCase())) {
      ctx.addIssue({ code: "custom", path: [name], message: "use the preflight and requestHeaders fields instead" });
    }
  }
});

const { token: _token, subprotocols: _subprotocols, ...httpCommon } = common;

export const corsInputSchema = z
  .strictObject({
    ...httpCommon,
    headers,
    /** The Origin header: a string is sent verbatim ("null" included); null or absent = no header. */
    origin: headerValue("origin", LIMITS.originLength).nullable().optional(),
    /** The method of the actual request, or the Access-Control-Request-Method of a preflight. */
    method: z
      .string()
      .min(1)
      .max(32)
      .regex(HTTP_TOKEN, "a method name is made of letters, digits and !#$%&'*+-.^_`|~")
      .default("GET"),
    /** Send the CORS preflight (OPTIONS with Access-Control-Request-*) instead of the actual request. */
    preflight: z.boolean().default(false),
    /** Access-Control-Request-Headers of a preflight. */
    requestHeaders: z
      .array(
        z.string().min(1).max(128).regex(HTTP_TOKEN, "a header name is made of letters, digits and !#$%&'*+-.^_`|~"),
      )
      .max(32)
      .optional(),
  })
  .superRefine((value, ctx) => targetRules(value, ctx, false));

export const corsScanInputSchema = z
  .strictObject({ ...httpCommon, headers })
  .superRefine((value, ctx) => targetRules(value, ctx, true));

export type CorsInput = z.output<typeof corsInputSchema>;
export type CorsScanInput = z.output<typeof corsScanInputSchema>;
