/**
 * Saved views of the audit explorer (`/api/v1/audit/views`): a signed-in user's named
 * /audit queries (filters, time range, sort), private to that user. The query is validated
 * with the history's own filter schema when saved, and stored normalized (empty parameters
 * dropped, in the schema's order), so opening a view always yields a valid page. Saving under
 * an existing name replaces that view. API tokens have no saved views (403), as they have no
 * sessions. Each change is recorded in the activity log in its transaction.
 */
import "server-only";
import { z } from "zod";
import type { Principal } from "@/app/_lib/auth/principal";
import { auditFilterObject, refineAuditFilter } from "@/server/db/audit-queries";
import { type Db, inTransaction } from "@/server/db/prisma";
import { type Actor, recordActivity } from "@/server/domain/activity/record-activity";
import { AppError, notFound } from "@/server/domain/errors";
import { savedViewInput } from "./audit-filter-input";

/** At most this many views per user: a list to pick from, not a store. */
export const MAX_VIEWS_PER_USER = 50;

/** What a view may hold: the page's filters, without paging. */
const viewQuerySchema = auditFilterObject
  .omit({ limit: true, cursor: true, beforeId: true })
  .strict()
  .superRefine(refineAuditFilter);

export interface SavedView {
  id: string;
  name: string;
  query: string;
  createdAt: string;
  updatedAt: string;
}

/** The query string validated and normalized (422 with the parameter's path when invalid). */
export function normalizeViewQuery(query: string): string {
  const params: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(query.replace(/^\?/, ""))) {
    if (value.trim() !== "") params[key] = value.trim();
  }
  const parsed = viewQuerySchema.safeParse(params);
  if (!parsed.success) {
    throw new z.ZodError(parsed.error.issues.map((issue) => ({ ...issue, path: ["query", ...issue.path] })));
  }
  const out = new URLSearchParams();
  for (const key of Object.keys(auditFilterObject.shape)) {
    const value = (parsed.data as Record<string, unknown>)[key];
    if (typeof value === "string") out.set(key, value);
  }
  return out.toString();
}

function viewOwner(principal: Principal): Extract<Principal, { kind: "user" }> {
  if (principal.kind !== "user") {
    throw new AppError("forbidden", "API tokens have no saved views: they belong to a signed-in user");
  }
  return principal;
}

function view(row: { id: string; name: string; query: string; createdAt: Date; updatedAt: Date }): SavedView {
  return {
    id: row.id,
    name: row.name,
    query: row.query,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export async function listSavedViews(options: { db: Db; principal: Principal }): Promise<SavedView[]> {
  const user = viewOwner(options.principal);
  const rows = await options.db.auditSavedView.findMany({ where: { userId: user.id }, orderBy: { name: "asc" } });
  return rows.map(view);
}

export async function saveView(options: {
  db: Db;
  principal: Principal;
  actor: Actor;
  input: unknown;
}): Promise<{ view: SavedView; created: boolean }> {
  const user = viewOwner(options.principal);
  const input = savedViewInput.parse(options.input);
  const query = normalizeViewQuery(input.query);
  return inTransaction(options.db, async (tx) => {
    const existing = await tx.auditSavedView.findUnique({
      where: { userId_name: { userId: user.id, name: input.name } },
    });
    if (!existing && (await tx.auditSavedView.count({ where: { userId: user.id } })) >= MAX_VIEWS_PER_USER) {
      throw new AppError("conflict", `You have ${MAX_VIEWS_PER_USER} saved views already; delete one first`);
    }
    const row = existing
      ? await tx.auditSavedView.update({ where: { id: existing.id }, data: { query } })
      : await tx.auditSavedView.create({ data: { userId: user.id, name: input.name, query } });
    await recordActivity(tx, {
      actor: options.actor,
      action: "audit_view.save",
      target: user.email,
      summary: `${existing ? "Updated" : "Saved"} the audit view "${input.name}"`,
    });
    return { view: view(row), created: !existing };
  });
}

export async function deleteView(options: { db: Db; principal: Principal; actor: Actor; id: string }): Promise<void> {
  const user = viewOwner(options.principal);
  if (!/^[0-9a-f-]{36}$/i.test(options.id)) throw notFound("Saved view");
  await inTransaction(options.db, async (tx) => {
    // Someone else's view is "not found", never "forbidden": its existence is not disclosed.
    const row = await tx.auditSavedView.findFirst({ where: { id: options.id, userId: user.id } });
    if (!row) throw notFound("Saved view");
    await tx.auditSavedView.delete({ where: { id: row.id } });
    await recordActivity(tx, {
      actor: options.actor,
      action: "audit_view.delete",
      target: user.email,
      summary: `Deleted the audit view "${row.name}"`,
    });
  });
}
