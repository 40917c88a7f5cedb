/**
 * Deployment-wide secrets kept in the `setting` table (server/db/settings.ts), sealed with
 * SECRETS_KEY when one is configured: the session signing secret when AUTH_SECRET is unset,
 * the admin-token key. Read once per process and kept in memory (on globalThis, so Next's
 * hot reload does not re-read them); a failed read (database down) is not cached, the next
 * request tries again. Server-only.
 */
import "server-only";
import pg from "pg";
import { getOrCreateSecretSetting, type SECRET_SETTINGS } from "@/server/db/settings";
import { configuredSecretBox } from "@/server/secrets/secrets-key";
import { databaseUrl } from "./db";

const holder = globalThis as typeof globalThis & { __origingateSettings?: Map<string, Promise<string>> };

export function deploymentSetting(key: (typeof SECRET_SETTINGS)[number]): Promise<string> {
  holder.__origingateSettings ??= new Map();
  const cache = holder.__origingateSettings;
  let value = cache.get(key);
  if (!value) {
    value = (async () => {
      const client = new pg.Client({ connectionString: databaseUrl() });
      await client.connect();
      try {
        return await getOrCreateSecretSetting(client, key, configuredSecretBox());
      } finally {
        await client.end();
      }
    })();
    cache.set(key, value);
    value.catch(() => cache.delete(key));
  }
  return value;
}
