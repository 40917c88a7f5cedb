/**
 * apiRoute: the thin wrapper every /api/v1 handler goes through. It declares the
 * permission the route needs and, in this order: authenticates (cookie or Bearer token;
 * none -> 401), checks CSRF for cookie-authenticated state changes (-> 403 csrf), checks
 * the permission (-> 403 forbidden), runs the handler, and maps any error through
 * handleApiError. Handlers stay a few lines: parse input, call one domain function, reply.
 */

import "server-only";
import { assertSameOrigin, isStateChanging } from "../auth/csrf";
import { can, type Permission } from "../auth/permissions";
import { authenticate, type Principal } from "../auth/principal";
import { AppError } from "../errors";
import { handleApiError } from "./handle-api-error";

export interface ApiContext<P> {
  request: Request;
  params: P;
  principal: Principal;
}

type RouteContext<P> = { params: Promise<P> };

export function apiRoute<P = Record<string, never>>(
  /** The permission the route needs; "authenticated" = any signed-in user or valid token. */
  spec: { permission: Permission | "authenticated" },
  handler: (ctx: ApiContext<P>) => Promise<Response>,
): (request: Request, context: RouteContext<P>) => Promise<Response> {
  return async (request, context) => {
    try {
      const auth = await authenticate(request.headers);
      if (!auth) throw new AppError("unauthorized", "Sign in, or send Authorization: Bearer <api token>");
      if (auth.via === "cookie" && isStateChanging(request.method)) assertSameOrigin(request);
      if (spec.permission !== "authenticated" && !can(auth.principal.role, spec.permission)) {
        throw new AppError(
          "forbidden",
          `Your role (${auth.principal.role}) may not do this (needs ${spec.permission})`,
        );
      }
      const params = context?.params ? await context.params : ({} as P);
      const response = await handler({ request, params, principal: auth.principal });
      response.headers.set("Cache-Control", "no-store");
      return response;
    } catch (error) {
      const response = handleApiError(error);
      response.headers.set("Cache-Control", "no-store");
      return response;
    }
  };
}

/** Request bodies of the API are small JSON documents; a policy PUT raises this (save-policy.ts). */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

/**
 * Parses a JSON body; a body that is not JSON is a 400, not a 500. A body larger than
 * `maxBytes` is a 413, refused from its Content-Length when it declares one, else as soon as
 * the bytes read pass the limit (it is never buffered whole).
 */
export async function readJson(request: Request, options: { maxBytes?: number } = {}): Promise<unknown> {
  const maxBytes = options.maxBytes ?? MAX_JSON_BODY_BYTES;
  const tooLarge = () =>
    new AppError("payload_too_large", `The request body is larger than ${maxBytes} bytes`, {
      details: { maxBytes },
    });
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > maxBytes) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new AppError("bad_request", "The request body is not valid JSON", { cause: error });
  }
}
