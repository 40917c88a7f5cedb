/**
 * The activity log, newest first, in keyset pages (`GET /api/v1/activity`): filters by actor
 * (exact), action (exact, or a family: `auth` matches `auth.*`) and target (exact). `nextCursor`
 * goes back as `cursor` for the next (older) page; pages never overlap and never skip a row.
 */
import "server-only";
import { activityQuery } from "@/app/_lib/api/params";
import type { Db } from "@/server/db/prisma";

export interface ActivityView {
  id: string;
  ts: string;
  actor: string;
  actorKind: string;
  action: string;
  target: string | null;
  summary: string;
  remoteAddr: string | null;
}

export interface ActivityPage {
  entries: ActivityView[];
  nextCursor: string | null;
}

export async function listActivity(options: { db: Db; query: unknown }): Promise<ActivityPage> {
  const q = activityQuery.parse(options.query);
  const rows = await options.db.activityEntry.findMany({
    where: {
      ...(q.actor ? { actor: q.actor } : {}),
      ...(q.action ? (q.action.includes(".") ? { action: q.action } : { action: { startsWith: `${q.action}.` } }) : {}),
      ...(q.target ? { target: q.target } : {}),
      ...(q.cursor ? { id: { lt: BigInt(q.cursor) } } : {}),
    },
    orderBy: { id: "desc" },
    take: q.limit + 1,
  });
  const page = rows.slice(0, q.limit);
  return {
    entries: page.map((r) => ({
      id: r.id.toString(),
      ts: r.ts.toISOString(),
      actor: r.actor,
      actorKind: r.actorKind,
      action: r.action,
      target: r.target,
      summary: r.summary,
      remoteAddr: r.remoteAddr,
    })),
    nextCursor: rows.length > q.limit ? (page.at(-1)?.id.toString() ?? null) : null,
  };
}
