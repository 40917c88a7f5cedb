/**
 * Path and query parameters, and the small request bodies of single routes, parsed at the
 * boundary. The routes parse with these and the OpenAPI document (openapi/operations.ts)
 * describes them from the same schemas.
 */
import "server-only";
import { z } from "zod";
import { notFound } from "@/server/domain/errors";

const version = z.coerce.number().int().min(1).max(2_147_483_647);

/** A revision number from the path; anything else is a 404 (there is no such revision). */
export function versionParam(value: string): number {
  const parsed = /^\d{1,10}$/.test(value) ? version.safeParse(value) : null;
  if (!parsed?.success) throw notFound(`Revision "${value.slice(0, 20)}"`);
  return parsed.data;
}

export const revisionListQuery = z.object({
  before: version.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

export const revisionQuery = z.object({ against: version.optional() });

/** `PUT .../policy?comment=` (the revision's comment; savePolicy checks its length). */
export const policySaveQuery = z.object({
  comment: z.string().optional().meta({ description: "The revision's comment (at most 500 characters)." }),
});

/** `GET /api/v1/gateways?all=1`. */
export const gatewaysQuery = z.object({
  all: z.string().optional().meta({ description: "1 or true: also stopped and silent gateways (live: false)." }),
});

/** `POST .../revisions/<version>/rollback`. */
export const rollbackInput = z.object({ comment: z.string().max(500).nullish() }).strict();

/** `POST /api/v1/audit/<id>/allow`: the policy version the user saw (or If-Match). */
export const allowOriginInput = z
  .object({ expectedVersion: z.number().int().min(1).max(2_147_483_647).optional() })
  .strict();

export function queryObject(request: Request): Record<string, string> {
  return Object.fromEntries(new URL(request.url).searchParams.entries());
}

/** `GET /api/v1/activity`: filters by actor (exact), action (exact, or a family without a dot) and target (exact). */
export const activityQuery = z
  .object({
    actor: z.string().trim().min(1).max(320).optional(),
    action: z
      .string()
      .trim()
      .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/, "an action such as policy.save, or a family such as auth")
      .optional(),
    target: z.string().trim().min(1).max(320).optional(),
    cursor: z
      .string()
      .regex(/^\d{1,19}$/, "a cursor from nextCursor")
      .optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

/** `POST /api/v1/me/sessions/revoke-all`: keep this session (default: end it too). */
export const revokeSessionsInput = z.object({ keepCurrent: z.boolean().default(false) }).strict();
