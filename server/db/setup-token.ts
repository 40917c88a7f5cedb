/**
 * The one-time token that lets the first admin sign up (dashboard /setup). While no admin
 * exists, every `npm start` issues a fresh token (replacing the previous one, so only the
 * latest printed token works); only its SHA-256 is stored. Using it creates the admin and
 * marks it used in the same transaction (see app/_lib/auth/complete-setup.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import type pg from "pg";

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** A new setup token if no admin exists yet, else null. */
export async function issueSetupTokenIfNeeded(db: pg.Pool | pg.Client): Promise<string | null> {
  const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from "user" where role = 'admin'`);
  if ((rows[0]?.n ?? 0) > 0) return null;
  const token = `ogs_${randomBytes(24).toString("base64url")}`;
  await db.query(
    `insert into setup_token (id, token_hash, created_at, used_at) values (1, $1, now(), null)
     on conflict (id) do update set token_hash = excluded.token_hash, created_at = now(), used_at = null`,
    [hashToken(token)],
  );
  return token;
}
