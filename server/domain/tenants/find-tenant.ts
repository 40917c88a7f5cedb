/** Looks a tenant up by slug; 404 AppError when absent. */
import "server-only";
import type { Db } from "../../db/prisma";
import { notFound } from "../errors";
import { SLUG_PATTERN } from "./tenant-input";

export async function findTenant(options: { db: Db; slug: string }) {
  if (!SLUG_PATTERN.test(options.slug)) throw notFound(`Tenant "${options.slug.slice(0, 80)}"`);
  const tenant = await options.db.tenant.findUnique({ where: { slug: options.slug } });
  if (!tenant) throw notFound(`Tenant "${options.slug}"`);
  return tenant;
}
