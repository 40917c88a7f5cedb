/**
 * A TOTP code is accepted once, never twice (RFC 6238 §5.2). Better Auth's verifier accepts a
 * code during its own 30-second step and the ones on either side, and remembers nothing; so
 * before a code is checked it is reserved here — a row keyed by SHA-256(user id, code) in
 * `totp_code_use`, kept for REMEMBER_SECONDS (longer than the 90 s a code can verify). A
 * second use of the same code by the same user, concurrent or later, finds the row and is
 * refused. A code that turns out wrong is released again (it might become the valid one of a
 * later step). Expired rows are pruned by the same statement.
 */
import "server-only";
import { createHash } from "node:crypto";
import type { PrismaClient } from "@/server/db/prisma";

const REMEMBER_SECONDS = 180;

export function totpKey(userId: string, code: string): string {
  return createHash("sha256").update(`${userId}\0${code}`).digest("hex");
}

/** True when the code was free (now reserved); false when this user already used it. */
export async function reserveTotpCode(db: PrismaClient, key: string): Promise<boolean> {
  const rows = await db.$queryRaw<Array<{ fresh: boolean }>>`
    with pruned as (
      delete from totp_code_use where expires_at < now() - interval '1 minute'
    ), reserved as (
      insert into totp_code_use (key, expires_at) values (${key}, now() + make_interval(secs => ${REMEMBER_SECONDS}))
      on conflict (key) do update set expires_at = excluded.expires_at where totp_code_use.expires_at < now()
      returning 1
    )
    select exists (select 1 from reserved) as fresh`;
  return rows[0]?.fresh === true;
}

export async function releaseTotpCode(db: PrismaClient, key: string): Promise<void> {
  await db.totpCodeUse.deleteMany({ where: { key } });
}
