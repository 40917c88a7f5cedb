/**
 * Throwaway databases for tests. The integration tier's global setup migrates one
 * template database per run; every test file clones it (CREATE DATABASE ... TEMPLATE),
 * which takes milliseconds. All databases of a run share its prefix and are dropped at the
 * end. Nothing here ever touches the database `npm start` uses.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { withDatabase } from "../../server/db/pg-server";

export const RUN_PREFIX_ENV = "OG_TEST_RUN_PREFIX";
export const ADMIN_URL_ENV = "OG_TEST_ADMIN_URL";
export const TEMPLATE_ENV = "OG_TEST_TEMPLATE_DB";

export function testEnv(): { adminUrl: string; template: string; prefix: string } {
  const adminUrl = process.env[ADMIN_URL_ENV];
  const template = process.env[TEMPLATE_ENV];
  const prefix = process.env[RUN_PREFIX_ENV];
  if (!adminUrl || !template || !prefix) {
    throw new Error("test database environment missing: run through `npm test` / vitest's integration project");
  }
  return { adminUrl, template, prefix };
}

/** A new database, migrated (cloned from the run's template); returns its URL. */
export async function createTestDatabase(label = "t"): Promise<string> {
  const { adminUrl, template, prefix } = testEnv();
  const name = `${prefix}_${label}_${randomBytes(3).toString("hex")}`.slice(0, 63);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`create database "${name}" template "${template}"`);
  } finally {
    await client.end();
  }
  return withDatabase(adminUrl, name);
}

/** Drops every database whose name starts with `prefix`. */
export async function dropRunDatabases(adminUrl: string, prefix: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      "select datname from pg_database where starts_with(datname, $1)",
      [prefix],
    );
    for (const { datname } of rows) await client.query(`drop database if exists "${datname}" with (force)`);
  } finally {
    await client.end();
  }
}

export function newRunPrefix(): string {
  return `og_${Date.now().toString(36)}_${randomBytes(2).toString("hex")}`;
}
