/**
 * Deployment-wide secrets kept in the `setting` table when the environment does not give
 * them, so every dashboard and gateway process of one deployment agrees without
 * configuration. First writer wins (INSERT ... ON CONFLICT DO NOTHING), then everyone reads.
 *
 * Secret settings (signing keys) are sealed with SECRETS_KEY when the process has one
 * (server/secrets/secret-box.ts, context `setting:<key>`); a legacy plaintext value is still
 * read, and sealed on the next `npm start` / `ctl secrets:encrypt`.
 */
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { isSealed, type SecretBox, secretContext } from "../secrets/secret-box";

export const SETTING_AUTH_SECRET = "auth_secret";
/** HMAC key of the short-lived tokens the dashboard mints for the gateway's admin endpoints. */
export const SETTING_ADMIN_TOKEN_KEY = "admin_token_key";
/** Settings that are secrets: sealed at rest. */
export const SECRET_SETTINGS = [SETTING_AUTH_SECRET, SETTING_ADMIN_TOKEN_KEY] as const;

export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** A secret setting, created (sealed when `secrets` is given) by the first process that needs it. */
export async function getOrCreateSecretSetting(
  db: pg.Pool | pg.Client,
  key: (typeof SECRET_SETTINGS)[number],
  secrets: SecretBox | null,
  make: () => string = () => newSecret(),
): Promise<string> {
  const context = secretContext.setting(key);
  const fresh = make();
  await db.query("insert into setting (key, value) values ($1, $2) on conflict (key) do nothing", [
    key,
    secrets ? secrets.seal(fresh, context) : fresh,
  ]);
  const { rows } = await db.query<{ value: string }>("select value from setting where key = $1", [key]);
  const value = rows[0]?.value;
  if (value === undefined) throw new Error(`setting ${key} could not be read back`);
  if (!isSealed(value)) return value;
  if (!secrets) throw new Error(`setting ${key} is encrypted and this process has no SECRETS_KEY`);
  return secrets.open(value, context);
}
