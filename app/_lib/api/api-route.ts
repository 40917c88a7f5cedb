/**
 * apiRoute: the thin wrapper every /api/v1 handler goes through. It declares the
 * permission the route needs and, in this order: authenticates (cookie or Bearer token;
 * none -> 401), checks CSRF for cookie-authenticated state changes (-> 403 csrf), refuses an
 * admin who must still enrol a second factor (-> 403 second_factor_required), checks the
 * permission (-> 403 forbidden), checks a tenant-scoped token's reach (-> 403 out_of_scope),
 * runs the handler, and maps any error through handleApiError. Handlers stay a few lines:
 * parse input, call one domain function, reply.
 *
 * Tenant scope (API tokens limited to one tenant), fail-closed:
 *  - a route with a `<slug>` in its path serves a scoped token only for its own tenant;
 *  - a route without one refuses a scoped token, unless it declares `tenantScope: "filtered"`:
 *    then its handler narrows what it reads or does to `principal.tenant` itself (tenant list,
 *    gateways, fleet, audit, tester, live feed).
 * Activity: a write route declares the action it records (`activity: "tenant.create"`), or
 * `activity: false` for a POST that changes nothing; after a successful call apiRoute checks
 * that exactly that was recorded (server/domain/activity/activity-scope.ts) and logs an error if
 * not. tests/unit/api-routes.test.ts requires the declaration on every write route.
 */

import "server-only";
import { assertSameOrigin, isStateChanging } from "@/app/_lib/auth/csrf";
import { authenticate, type Principal } from "@/app/_lib/auth/principal";
import { log } from "@/app/_lib/log";
import { withActivityScope } from "@/server/domain/activity/activity-scope";
import type { Actor } from "@/server/domain/activity/record-activity";
import { can, type Permission } from "@/server/domain/auth/permissions";
import { AppError } from "@/server/domain/errors";
import { actorOf } from "./actor";
import { handleApiError } from "./handle-api-error";
import { readBodyLimited } from "./read-body";

export interface ApiContext<P> {
  request: Request;
  params: P;
  principal: Principal;
  /** The principal with the client address, for revisions and the activity log. */
  actor: Actor;
}

type RouteContext<P> = { params: Promise<P> };

export interface RouteSpec {
  /** The permission the route needs; "authenticated" = any signed-in user or valid token. */
  permission: Permission | "authenticated";
  /** The activity action a successful call records (write routes), or false when it changes nothing. */
  activity?: string | false;
  /** "filtered": the handler narrows to a scoped token's tenant itself (routes without a `<slug>`). */
  tenantScope?: "filtered";
  /** Also for an admin who must still enrol a second factor (REQUIRE_2FA_FOR_ADMINS). */
  beforeSecondFactor?: true;
}

export function apiRoute<P = Record<string, never>>(
  spec: RouteSpec,
  handler: (ctx: ApiContext<P>) => Promise<Response>,
): (request: Request, context: RouteContext<P>) => Promise<Response> {
  return async (request, context) => {
    try {
      const auth = await authenticate(request.headers);
      if (!auth) throw new AppError("unauthorized", "Sign in, or send Authorization: Bearer <api token>");
      const principal = auth.principal;
      if (auth.via === "cookie" && isStateChanging(request.method)) assertSameOrigin(request);
      if (principal.kind === "user" && principal.secondFactorPending && !spec.beforeSecondFactor) {
        throw new AppError(
          "second_factor_required",
          "Admins must set up a second factor first (REQUIRE_2FA_FOR_ADMINS): open Account in the dashboard",
        );
      }
      if (spec.permission !== "authenticated" && !can(principal.role, spec.permission)) {
        throw new AppError("forbidden", `Your role (${principal.role}) may not do this (needs ${spec.permission})`);
      }
      const params = context?.params ? await context.params : ({} as P);
      checkTenantScope(principal, params, spec);
      const { result: response, recorded } = await withActivityScope(() =>
        handler({ request, params, principal, actor: actorOf(principal, request) }),
      );
      if (response.ok && spec.activity !== undefined) checkActivity(request, spec.activity, recorded);
      response.headers.set("Cache-Control", "no-store");
      return response;
    } catch (error) {
      const response = handleApiError(error);
      response.headers.set("Cache-Control", "no-store");
      return response;
    }
  };
}

function checkTenantScope(principal: Principal, params: unknown, spec: RouteSpec): void {
  if (principal.tenant === null) return;
  const slug = (params as { slug?: unknown } | null)?.slug;
  if (typeof slug === "string") {
    if (slug !== principal.tenant) {
      throw new AppError(
        "out_of_scope",
        `This API token is limited to tenant ${principal.tenant}; it cannot reach tenant ${slug.slice(0, 63)}`,
      );
    }
    return;
  }
  if (spec.tenantScope !== "filtered") {
    throw new AppError(
      "out_of_scope",
      `This API token is limited to tenant ${principal.tenant}; this route is not about one tenant (use an unscoped token)`,
    );
  }
}

/** The tenant a scoped principal may use for a tenant named in a query or body (undefined = none named). */
export function scopedTenant(principal: Principal, requested: string | undefined | null): string | undefined {
  if (principal.tenant === null) return requested ?? undefined;
  if (requested && requested !== principal.tenant) {
    throw new AppError(
      "out_of_scope",
      `This API token is limited to tenant ${principal.tenant}; it cannot reach tenant ${requested.slice(0, 63)}`,
    );
  }
  return principal.tenant;
}

function checkActivity(request: Request, declared: string | false, recorded: string[]): void {
  const expected = declared === false ? [] : [declared];
  if (recorded.length !== expected.length || recorded.some((action, i) => action !== expected[i])) {
    log().error(
      { route: `${request.method} ${new URL(request.url).pathname}`, declared, recorded },
      "a write route recorded other activity than it declares",
    );
  }
}

/** Request bodies of the API are small JSON documents; a policy PUT raises this (save-policy.ts). */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

/**
 * Parses a JSON body; a body that is not JSON is a 400, not a 500. A body larger than
 * `maxBytes` is a 413 (read-body.ts).
 */
export async function readJson(request: Request, options: { maxBytes?: number } = {}): Promise<unknown> {
  const body = await readBodyLimited(request, options.maxBytes ?? MAX_JSON_BODY_BYTES);
  const text = body.toString("utf8");
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new AppError("bad_request", "The request body is not valid JSON", { cause: error });
  }
}
