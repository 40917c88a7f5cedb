/**
 * Test-run Postgres: DATABASE_URL's server when set (CI uses the machine's Postgres),
 * otherwise a temporary embedded one. Sets up the run's template database and a SECRETS_KEY
 * for the run (unless one is set), and returns a teardown that drops every database the run
 * created.
 */

import pg from "pg";
import { scratchServer, withDatabase } from "../../server/db/pg-server";
import { applyMigrations } from "../../server/db/schema-engine";
import { generateSecretsKey } from "../../server/secrets/secret-box";
import { ADMIN_URL_ENV, dropRunDatabases, newRunPrefix, RUN_PREFIX_ENV, TEMPLATE_ENV } from "./test-db";

export async function setUpTestServer(): Promise<{ env: Record<string, string>; teardown: () => Promise<void> }> {
  const server = await scratchServer(process.env.DATABASE_URL);
  const prefix = newRunPrefix();
  const template = `${prefix}_template`;
  const client = new pg.Client({ connectionString: server.adminUrl });
  await client.connect();
  try {
    await client.query(`create database "${template}"`);
  } finally {
    await client.end();
  }
  await applyMigrations(withDatabase(server.adminUrl, template));
  const env = {
    [ADMIN_URL_ENV]: server.adminUrl,
    [TEMPLATE_ENV]: template,
    [RUN_PREFIX_ENV]: prefix,
    // Like `npm start`: secrets at rest are sealed with a key kept outside the database.
    SECRETS_KEY: process.env.SECRETS_KEY || generateSecretsKey(),
  };
  Object.assign(process.env, env);
  return {
    env,
    teardown: async () => {
      await dropRunDatabases(server.adminUrl, prefix);
      await server.stop();
    },
  };
}
