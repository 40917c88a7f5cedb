/**
 * apiRoute: the thin wrapper every /api/v1 handler goes through. It declares the
 * permission the route needs and, in this order: authenticates (cookie or Bearer token;
 * none -> 401), checks CSRF for cookie-authenticated state changes (-> 403 csrf), checks
 * the permission (-> 403 forbidden), runs the handler, and maps any error through
 * handleApiError. Handlers stay a few lines: parse input, call one domain function, reply.
 */

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

/** Parses a JSON body; a body that is not JSON is a 400, not a 500. */
export async function readJson(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new AppError("bad_request", "The request body is not valid JSON", { cause: error });
  }
}
