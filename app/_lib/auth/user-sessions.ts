/**
 * A signed-in user's own sessions (Account page, `/api/v1/me/sessions`): the list (where and
 * with what each was opened, which is this one — never a session token), ending one, and
 * "sign out everywhere". Better Auth's own session endpoints are turned off (auth.ts): they hand
 * every session's token to the page's script. Each change is recorded (`session.revoke`,
 * `session.revoke_all`) in the same transaction. API tokens have no sessions (403).
 */
import "server-only";
import { type Db, inTransaction } from "@/server/db/prisma";
import { type Actor, recordActivity } from "@/server/domain/activity/record-activity";
import { AppError, notFound } from "@/server/domain/errors";
import type { Principal } from "./principal";

export interface SessionView {
  id: string;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  ipAddress: string | null;
  userAgent: string | null;
  current: boolean;
}

type UserPrincipal = Extract<Principal, { kind: "user" }>;

export function requireUserPrincipal(principal: Principal): UserPrincipal {
  if (principal.kind !== "user") {
    throw new AppError("forbidden", "API tokens have no sessions: this is for a signed-in user");
  }
  return principal;
}

export async function listUserSessions(options: { db: Db; principal: Principal }): Promise<SessionView[]> {
  const user = requireUserPrincipal(options.principal);
  const rows = await options.db.session.findMany({
    where: { userId: user.id, expiresAt: { gt: new Date() } },
    orderBy: { updatedAt: "desc" },
  });
  return rows.map((s) => ({
    id: s.id,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    expiresAt: s.expiresAt.toISOString(),
    ipAddress: s.ipAddress,
    userAgent: s.userAgent,
    current: s.id === user.sessionId,
  }));
}

export async function revokeUserSession(options: { db: Db; principal: Principal; id: string; actor: Actor }) {
  const user = requireUserPrincipal(options.principal);
  await inTransaction(options.db, async (tx) => {
    const session = await tx.session.findFirst({ where: { id: options.id.slice(0, 200), userId: user.id } });
    if (!session) throw notFound("Session");
    await tx.session.delete({ where: { id: session.id } });
    await recordActivity(tx, {
      actor: options.actor,
      action: "session.revoke",
      target: user.email,
      summary: `Ended ${session.id === user.sessionId ? "this" : "a"} session (opened ${session.createdAt.toISOString()} from ${session.ipAddress ?? "an unknown address"})`,
    });
  });
}

/** Ends every session of the user, this one included unless `keepCurrent`. Returns how many. */
export async function revokeAllUserSessions(options: {
  db: Db;
  principal: Principal;
  keepCurrent: boolean;
  actor: Actor;
}): Promise<number> {
  const user = requireUserPrincipal(options.principal);
  return inTransaction(options.db, async (tx) => {
    const { count } = await tx.session.deleteMany({
      where: { userId: user.id, ...(options.keepCurrent ? { id: { not: user.sessionId } } : {}) },
    });
    await recordActivity(tx, {
      actor: options.actor,
      action: "session.revoke_all",
      target: user.email,
      summary: options.keepCurrent
        ? `Signed out every other session (${count})`
        : `Signed out everywhere (${count} session${count === 1 ? "" : "s"})`,
    });
    return count;
  });
}
