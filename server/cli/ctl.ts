/**
 * `npm run ctl -- <command>`: administration from the command line (first start,
 * automation). Uses the same domain functions as the dashboard and the API, so the same
 * validation applies.
 *
 *   user:create  --email E --password P --role admin|editor|viewer [--name N]
 *   user:list
 *   token:create --name N --role admin|editor|viewer [--expires-days N] [--tenant S] [--policy-as-code]
 *                                                        prints the token once, on stdout
 *   token:list
 *   token:revoke --id ID
 *   secrets:encrypt    seal every secret at rest with SECRETS_KEY (plaintext rows, and rows
 *                      sealed with a key of SECRETS_KEY_PREVIOUS during a key rotation)
 *   secrets:new-key    print a new random key for SECRETS_KEY
 *   audit:partitions   one pass of audit partition upkeep now (partitions ahead, retention
 *                      AUDIT_RETENTION_DAYS; gateways do it at start and hourly), and the list
 *   policy:*     policy as code, through the HTTP API (policy-commands.ts; no database)
 *
 * Database: DATABASE_URL, or the embedded Postgres of a running `npm start` (no
 * DATABASE_URL). Output meant for scripts goes to stdout, messages to stderr.
 * Exit codes: 0 done, 1 refused or failed, 2 usage error; policy:* commands have their own
 * (0 same, 2 differences, 1 error, usage errors included). Every change made here is in the
 * activity log with the actor "ctl" and no address.
 */
import { parseArgs } from "node:util";
import pg from "pg";
import { ZodError } from "zod";
import { listAuditPartitions, maintainAuditPartitions } from "../audit/partitions";
import { loadConfigOrExit, redact } from "../config";
import { EMBEDDED_PG_DIR } from "../data-dir";
import { embeddedDatabaseUrl, readEmbeddedPassword } from "../db/pg-server";
import { createPool } from "../db/pool";
import { createPrisma, type PrismaClient } from "../db/prisma";
import { recordActivity, SYSTEM_ACTOR } from "../domain/activity/record-activity";
import { AppError } from "../domain/errors";
import { createApiToken } from "../domain/tokens/create-api-token";
import { listApiTokens } from "../domain/tokens/list-api-tokens";
import { revokeApiToken } from "../domain/tokens/revoke-api-token";
import { createUser } from "../domain/users/create-user";
import { listUsers } from "../domain/users/list-users";
import { encryptSecretsAtRest } from "../secrets/encrypt-secrets-at-rest";
import { generateSecretsKey } from "../secrets/secret-box";
import { secretBoxForCli } from "../secrets/secrets-key-file";
import { isPolicyCommand, POLICY_USAGE, runPolicyCommand } from "./policy-commands";

const USAGE = `Usage: npm run ctl -- <command> [options]

  user:create  --email E --password P --role admin|editor|viewer [--name N]
  user:list
  token:create --name N --role admin|editor|viewer [--expires-days N] [--tenant S] [--policy-as-code]
               (prints the token once; default lifetime API_TOKEN_DEFAULT_DAYS, --tenant limits it to one tenant)
  token:list
  token:revoke --id ID
  secrets:encrypt    (re-)encrypt every secret at rest with SECRETS_KEY
  secrets:new-key    print a new key for SECRETS_KEY
  audit:partitions   create audit partitions ahead, drop those past AUDIT_RETENTION_DAYS, list them

Uses DATABASE_URL, or the embedded database of a running \`npm start\`.

${POLICY_USAGE}`;

class UsageError extends Error {}

function required(values: Record<string, string | boolean | undefined>, name: string): string {
  const value = values[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

type Command = (db: PrismaClient, args: string[], url: string) => Promise<void>;

/** Who the activity log names for changes made from the command line. */
const CTL = SYSTEM_ACTOR("ctl");

function positiveInteger(values: Record<string, string | boolean | undefined>, name: string): number | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^\d{1,5}$/.test(value) || Number(value) < 1) {
    throw new UsageError(`--${name} must be a whole number of days (1 or more)`);
  }
  return Number(value);
}

const COMMANDS: Record<string, Command> = {
  "user:create": async (db, args) => {
    const { values } = parseArgs({
      args,
      options: {
        email: { type: "string" },
        password: { type: "string" },
        role: { type: "string" },
        name: { type: "string" },
      },
      strict: true,
    });
    const user = await createUser({
      db,
      input: {
        email: required(values, "email"),
        password: required(values, "password"),
        role: required(values, "role") as "viewer",
        name: values.name,
      },
      actor: CTL,
    });
    console.error(`created ${user.role} ${user.email}; they can sign in now.`);
  },
  "user:list": async (db) => {
    for (const u of await listUsers({ db })) console.log(`${u.role.padEnd(7)} ${u.email}`);
  },
  "token:create": async (db, args) => {
    const { values } = parseArgs({
      args,
      options: {
        name: { type: "string" },
        role: { type: "string" },
        "expires-days": { type: "string" },
        tenant: { type: "string" },
        "policy-as-code": { type: "boolean" },
      },
      strict: true,
    });
    const { token, apiToken } = await createApiToken({
      db,
      input: {
        name: required(values, "name"),
        role: required(values, "role") as "viewer",
        expiresInDays: positiveInteger(values, "expires-days"),
        tenant: values.tenant,
        policyAsCode: values["policy-as-code"] === true,
      },
      createdById: null,
      actor: CTL,
    });
    const scope = apiToken.policyAsCode ? ", policy as code" : "";
    console.error(
      `created API token "${apiToken.name}" (${apiToken.role}${scope}, ${apiToken.tenant ? `tenant ${apiToken.tenant} only` : "every tenant"}, expires ${apiToken.expiresAt}, id ${apiToken.id}). It is shown this once:`,
    );
    console.log(token);
  },
  "token:list": async (db) => {
    for (const t of await listApiTokens({ db })) {
      const state = t.revokedAt ? "revoked" : new Date(t.expiresAt) <= new Date() ? "expired" : "active ";
      const scope = t.policyAsCode ? "  (policy as code)" : "";
      console.log(
        `${t.id}  ${t.prefix}…  ${t.role.padEnd(7)} ${state}  expires ${t.expiresAt}  ${t.tenant ? `tenant:${t.tenant}` : "all-tenants"}  ${t.name}${scope}`,
      );
    }
  },
  "token:revoke": async (db, args) => {
    const { values } = parseArgs({ args, options: { id: { type: "string" } }, strict: true });
    await revokeApiToken({ db, id: required(values, "id"), actor: CTL });
    console.error("revoked.");
  },
  "secrets:encrypt": async (db, args, url) => {
    parseArgs({ args, options: {}, strict: true });
    const secrets = secretBoxForCli(loadConfigOrExit());
    if (!secrets) throw new AppError("bad_request", "SECRETS_KEY is not set (and there is no .data/secrets.key)");
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const sealed = await encryptSecretsAtRest(client, secrets);
      console.error(
        `sealed ${sealed.tenantSecrets} token secret(s), ${sealed.settings} setting(s), ${sealed.siemSecrets} SIEM webhook secret(s) and ${sealed.alertSecrets} alert webhook secret(s) with key ${secrets.keyId}; every secret at rest now uses it.`,
      );
      await recordActivity(db, {
        actor: CTL,
        action: "secrets.encrypt",
        summary: `Sealed ${sealed.tenantSecrets} token secret(s) and ${sealed.settings} setting(s) with key ${secrets.keyId}`,
      });
    } finally {
      await client.end();
    }
  },
  "audit:partitions": async (_db, args, url) => {
    parseArgs({ args, options: {}, strict: true });
    const retentionDays = loadConfigOrExit().AUDIT_RETENTION_DAYS;
    const pool = createPool(url, { max: 1, applicationName: "origingate-ctl" });
    try {
      const pass = await maintainAuditPartitions({ pool, retentionDays });
      if (!pass.ran) throw new AppError("conflict", "another process is maintaining the audit partitions right now");
      console.error(
        `retention ${retentionDays} days: created ${pass.created.length}, dropped ${pass.dropped.length} partition(s)` +
          `${pass.defaultRowsExpired ? `, ${pass.defaultRowsExpired} expired row(s) left with the old default partition` : ""}.`,
      );
      for (const error of pass.errors) console.error(`not done (retried on the next pass): ${error}`);
      const { rows } = await pool.query<{ name: string; rows: string }>(
        `select c.relname as name, c.reltuples::bigint::text as rows from pg_inherits i join pg_class c on c.oid = i.inhrelid
          where i.inhparent = 'audit_event'::regclass`,
      );
      const estimate = new Map(rows.map((r) => [r.name, r.rows]));
      for (const p of await listAuditPartitions(pool)) {
        const range =
          p.from === null
            ? "default (out-of-range timestamps)"
            : `${new Date(p.from).toISOString()} .. ${new Date(p.to ?? 0).toISOString()}`;
        console.log(`${p.name}\t${range}\t~${Math.max(0, Number(estimate.get(p.name) ?? 0))} rows`);
      }
      if (pass.errors.length > 0) process.exitCode = 1;
    } finally {
      await pool.end();
    }
  },
};

/** The command-line flag of an input field named in an error. */
function flagOf(field: string): string {
  const flags: Record<string, string> = { expiresInDays: "expires-days" };
  return flags[field] ?? field;
}

function validationDetails(error: AppError): Array<{ path: string; message: string }> {
  if (error.code !== "validation_failed" || !Array.isArray(error.details)) return [];
  return error.details.filter(
    (d): d is { path: string; message: string } => typeof d?.path === "string" && typeof d?.message === "string",
  );
}

function databaseUrl(): string {
  const config = loadConfigOrExit();
  if (config.DATABASE_URL) return config.DATABASE_URL;
  // The embedded cluster `npm start` runs when DATABASE_URL is unset, with the password it
  // generated when it created the cluster (server/db/pg-server.ts).
  const password = readEmbeddedPassword(EMBEDDED_PG_DIR);
  if (!password) {
    console.error(
      "DATABASE_URL is not set and there is no embedded database yet (.data/pg): run `npm start` once, or set DATABASE_URL.",
    );
    process.exit(2);
  }
  return embeddedDatabaseUrl(config.EMBEDDED_PG_PORT, password);
}

async function main(): Promise<number> {
  const [name, ...args] = process.argv.slice(2);
  if (!name || name === "help" || name === "--help" || name === "-h") {
    console.error(USAGE);
    return name ? 0 : 2;
  }
  // Policy as code talks to the HTTP API only: no database, no probe.
  if (isPolicyCommand(name)) return runPolicyCommand(name, args);
  if (name === "secrets:new-key") {
    console.log(generateSecretsKey());
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`Unknown command "${name}".\n\n${USAGE}`);
    return 2;
  }
  const url = databaseUrl();
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await probe.connect();
    await probe.query('select 1 from "user" limit 1');
  } catch (error) {
    console.error(
      `Cannot use the database at ${redact(url)}: ${(error as Error).message}\n` +
        "Set DATABASE_URL (and run `npm run db:migrate`), or start OriginGate with `npm start` so its embedded database runs.",
    );
    return 1;
  } finally {
    await probe.end().catch(() => {});
  }
  const db = createPrisma(url);
  try {
    await command(db, args, url);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof ZodError) {
      for (const issue of error.issues)
        console.error(`--${flagOf(String(issue.path[0] ?? "input"))}: ${issue.message}`);
      return 2;
    }
    if (error instanceof AppError) {
      console.error(error.message);
      // What was wrong with which flag (e.g. the maximum lifetime of a token), not just that something was.
      for (const detail of validationDetails(error)) console.error(`  --${flagOf(detail.path)}: ${detail.message}`);
      return 1;
    }
    console.error(`failed: ${(error as Error).message ?? String(error)}`);
    return 1;
  } finally {
    await db.$disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`failed: ${(error as Error).message}`);
    process.exit(1);
  },
);
