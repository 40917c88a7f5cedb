/**
 * The sign-in limits of sign-in-limits.ts, kept in Postgres (`sign_in_guard`) so every
 * dashboard process of a deployment shares them.
 *
 * Lifecycle of one sign-in (Better Auth hooks in auth.ts):
 *   reserveSignIn  before the password is checked: in one transaction, lock the three rows
 *                  (pair, address, account; always in key order, so concurrent attempts
 *                  cannot deadlock), decide, and when allowed count the attempt as a failure
 *                  right away — so a burst of parallel guesses cannot all pass one stale read;
 *   settleSignIn   after a success: clear the pair, remember the address as known for this
 *                  account, and take the provisional failure back from address and account.
 *                  After a failure nothing more happens (it was already counted); after a
 *                  crash neither, which errs on the side of counting.
 * Keys hold a SHA-256 of the e-mail, never the e-mail itself. Rows that remember nothing any
 * more are pruned at most once a minute per process. Server-only.
 */
import "server-only";
import { createHash } from "node:crypto";
import { log } from "@/app/_lib/log";
import type { PrismaClient } from "@/server/db/prisma";
import { decideSignIn, EMPTY_GUARD, type GuardState, SIGN_IN_LIMITS, type SignInVerdict } from "./sign-in-limits";

interface GuardKeys {
  pair: string;
  address: string;
  account: string;
}

export function guardKeys(email: string, address: string): GuardKeys {
  const account = createHash("sha256").update(email.trim().toLowerCase()).digest("hex");
  return { pair: `pair:${account}:${address}`, address: `addr:${address}`, account: `acct:${account}` };
}

export async function reserveSignIn(options: {
  db: PrismaClient;
  email: string;
  address: string;
  now?: Date;
}): Promise<SignInVerdict> {
  const now = options.now ?? new Date();
  const keys = guardKeys(options.email, options.address);
  const sorted = [keys.pair, keys.address, keys.account].sort();
  const windowStart = new Date(now.getTime() - SIGN_IN_LIMITS.windowSeconds * 1000);
  prune(options.db, now);
  return options.db.$transaction(async (tx) => {
    await tx.$executeRaw`
      insert into sign_in_guard (key) select k from unnest(${sorted}::text[]) as k order by k on conflict (key) do nothing`;
    const rows = await tx.$queryRaw<
      Array<{ key: string; failures: number; last_failure_at: Date | null; last_success_at: Date | null }>
    >`select key, failures, last_failure_at, last_success_at from sign_in_guard
      where key = any(${sorted}::text[]) order by key for update`;
    const state = (key: string): GuardState => {
      const row = rows.find((r) => r.key === key);
      if (!row) return EMPTY_GUARD;
      return {
        failures: row.failures,
        lastFailureAt: row.last_failure_at?.getTime() ?? null,
        lastSuccessAt: row.last_success_at?.getTime() ?? null,
      };
    };
    const verdict = decideSignIn(
      { pair: state(keys.pair), address: state(keys.address), account: state(keys.account) },
      now.getTime(),
    );
    if (verdict.allowed) {
      await tx.$executeRaw`
        update sign_in_guard
           set failures = case when last_failure_at is null or last_failure_at <= ${windowStart} then 1 else failures + 1 end,
               last_failure_at = ${now}
         where key = any(${sorted}::text[])`;
    }
    return verdict;
  });
}

export async function settleSignIn(options: {
  db: PrismaClient;
  email: string;
  address: string;
  succeeded: boolean;
  now?: Date;
}): Promise<void> {
  if (!options.succeeded) return;
  const now = options.now ?? new Date();
  const keys = guardKeys(options.email, options.address);
  await options.db.$transaction(async (tx) => {
    await tx.$executeRaw`
      update sign_in_guard set failures = greatest(failures - 1, 0)
       where key = any(${[keys.account, keys.address].sort()}::text[])`;
    await tx.$executeRaw`
      update sign_in_guard set failures = 0, last_failure_at = null, last_success_at = ${now} where key = ${keys.pair}`;
  });
}

let lastPrune = 0;

/** Drops rows that remember nothing any more; at most once a minute per process. */
function prune(db: PrismaClient, now: Date): void {
  if (now.getTime() - lastPrune < 60_000) return;
  lastPrune = now.getTime();
  const failuresBefore = new Date(now.getTime() - SIGN_IN_LIMITS.windowSeconds * 1000);
  const successBefore = new Date(now.getTime() - SIGN_IN_LIMITS.knownDays * 86_400_000);
  db.$executeRaw`
    delete from sign_in_guard
     where (last_failure_at is null or last_failure_at <= ${failuresBefore})
       and (last_success_at is null or last_success_at <= ${successBefore})`.catch((error: unknown) =>
    log().warn({ err: (error as Error).message }, "sign_in_guard prune failed"),
  );
}
