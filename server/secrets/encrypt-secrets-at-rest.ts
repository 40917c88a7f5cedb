/**
 * Seals every secret at rest with the current SECRETS_KEY: tenant token secrets (current and
 * previous), the secret settings (auth secret, admin-token key) and the signing secrets of
 * SIEM webhook destinations and alert webhooks. Plaintext rows (written
 * before a key was configured) and rows sealed with an older key (SECRETS_KEY_PREVIOUS,
 * during a key rotation) are re-sealed; rows already sealed with the current key are left
 * alone, so running it again changes nothing.
 *
 * Runs at every `npm start` (after the migrations) and as `npm run ctl -- secrets:encrypt`
 * (fleets, key rotation). One transaction: either every row is sealed with the current key,
 * or nothing changed (e.g. a row sealed with a key this process does not have: the error
 * names the tenant or setting, never a value).
 */
import type pg from "pg";
import { SECRET_SETTINGS } from "../db/settings";
import { type SecretBox, secretContext } from "./secret-box";
import { openTokenSecret, sealTokenSecret } from "./tenant-token-secret";

export async function encryptSecretsAtRest(
  db: pg.Client | pg.PoolClient,
  secrets: SecretBox,
): Promise<{ tenantSecrets: number; settings: number; siemSecrets: number; alertSecrets: number }> {
  let tenantSecrets = 0;
  let settings = 0;
  let siemSecrets = 0;
  let alertSecrets = 0;
  await db.query("begin");
  try {
    const tenants = await db.query<{
      id: string;
      slug: string;
      token_secret: string;
      previous_token_secret: string | null;
    }>("select id, slug, token_secret, previous_token_secret from tenant for update");
    for (const t of tenants.rows) {
      const reseal = (stored: string | null): string | null => {
        if (stored === null || secrets.isCurrent(stored)) return stored;
        let clear: string;
        try {
          clear = openTokenSecret(secrets, t.id, stored);
        } catch (error) {
          throw new Error(`tenant ${t.slug}: its token secret cannot be decrypted (${(error as Error).message})`);
        }
        tenantSecrets += 1;
        return sealTokenSecret(secrets, t.id, clear);
      };
      const current = reseal(t.token_secret);
      const previous = reseal(t.previous_token_secret);
      if (current !== t.token_secret || previous !== t.previous_token_secret) {
        await db.query("update tenant set token_secret = $2, previous_token_secret = $3 where id = $1", [
          t.id,
          current,
          previous,
        ]);
      }
    }
    const rows = await db.query<{ key: string; value: string }>(
      "select key, value from setting where key = any($1) for update",
      [[...SECRET_SETTINGS]],
    );
    for (const s of rows.rows) {
      if (secrets.isCurrent(s.value)) continue;
      const context = secretContext.setting(s.key);
      let clear: string;
      try {
        clear = secrets.open(s.value, context);
      } catch (error) {
        throw new Error(`setting ${s.key}: cannot be decrypted (${(error as Error).message})`);
      }
      await db.query("update setting set value = $2 where key = $1", [s.key, secrets.seal(clear, context)]);
      settings += 1;
    }
    const destinations = await db.query<{ id: string; name: string; secret: string }>(
      "select id, name, secret from siem_destination where secret is not null for update",
    );
    for (const d of destinations.rows) {
      if (secrets.isCurrent(d.secret)) continue;
      const context = secretContext.siemDestinationSecret(d.id);
      let clear: string;
      try {
        clear = secrets.open(d.secret, context);
      } catch (error) {
        throw new Error(`SIEM destination ${d.name}: its secret cannot be decrypted (${(error as Error).message})`);
      }
      await db.query("update siem_destination set secret = $2 where id = $1", [d.id, secrets.seal(clear, context)]);
      siemSecrets += 1;
    }
    const webhooks = await db.query<{ id: string; name: string; secret: string }>(
      "select id, name, secret from alert_webhook for update",
    );
    for (const w of webhooks.rows) {
      if (secrets.isCurrent(w.secret)) continue;
      const context = secretContext.alertWebhookSecret(w.id);
      let clear: string;
      try {
        clear = secrets.open(w.secret, context);
      } catch (error) {
        throw new Error(`alert webhook ${w.name}: its secret cannot be decrypted (${(error as Error).message})`);
      }
      await db.query("update alert_webhook set secret = $2 where id = $1", [w.id, secrets.seal(clear, context)]);
      alertSecrets += 1;
    }
    await db.query("commit");
  } catch (error) {
    await db.query("rollback").catch(() => {});
    throw error;
  }
  return { tenantSecrets, settings, siemSecrets, alertSecrets };
}
