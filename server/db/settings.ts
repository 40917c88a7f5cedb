/**
 * Deployment-wide secrets kept in the `setting` table when the environment does not give
 * them, so every dashboard and gateway process of one deployment agrees without
 * configuration. First writer wins (INSERT ... ON CONFLICT DO NOTHING), then everyone reads.
 */
import { randomBytes } from "node:crypto";
import type pg from "pg";

export const SETTING_AUTH_SECRET = "auth_secret";
/** HMAC key of the short-lived tokens the dashboard mints for the gateway's admin endpoints. */
export const SETTING_ADMIN_TOKEN_KEY = "admin_token_key";

export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

export async function getOrCreateSetting(
  db: pg.Pool | pg.Client,
  key: string,
  make: () => string = () => newSecret(),
): Promise<string> {
  await db.query("insert into setting (key, value) values ($1, $2) on conflict (key) do nothing", [key, make()]);
  const { rows } = await db.query<{ value: string }>("select value from setting where key = $1", [key]);
  const value = rows[0]?.value;
  if (value === undefined) throw new Error(`setting ${key} could not be read back`);
  return value;
}
