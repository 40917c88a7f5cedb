/** Path and query parameters parsed at the boundary. */
import "server-only";
import { z } from "zod";
import { notFound } from "../errors";

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

export function queryObject(request: Request): Record<string, string> {
  return Object.fromEntries(new URL(request.url).searchParams.entries());
}
