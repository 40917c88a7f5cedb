/**
 * `npm run ctl` commands as real processes (node --conditions=react-server --import tsx
 * server/cli/ctl.ts, as package.json runs it) against a real Postgres: their exit codes,
 * what they print where (stdout for scripts, stderr for messages) and what they change.
 *
 *  - user:create: the user can sign in with that password (Better Auth's real handler), the
 *    activity log names "ctl"; usage mistakes are exit 2, a refused e-mail exit 1;
 *  - audit:partitions: one pass now (a missing partition ahead created, an expired one
 *    dropped with its rows), then the list on stdout; exit 1 while another process holds
 *    the upkeep lock;
 *  - secrets:new-key: a key SECRETS_KEY accepts, a new one each time, without a database;
 *  - policy:export: a tenant's policy read through the real policy route (a local HTTP
 *    server in front of app/api/v1/tenants/[slug]/policy GET, real API token) and a policy
 *    file, exactly as exportStaticMap writes it.
 * (`token:create` is tested elsewhere.)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUDIT_PARTITION_LOCK_KEY, listAuditPartitions } from "../../server/audit/partitions";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { createApiToken } from "../../server/domain/tokens/create-api-token";
import { type PolicyDocument, parsePolicyDocument } from "../../server/policy";
import { policyToYaml } from "../../server/policy-as-code/policy-yaml";
import { type ExportFormat, exportStaticMap } from "../../server/policy-as-code/static-export";
import { parseSecretsKey } from "../../server/secrets/secret-box";
import { createTenant, query } from "../helpers/fixtures";
import { type CliRun, runCtl } from "../helpers/run-cli";
import { createTestDatabase } from "../helpers/test-db";

const BASE = "http://localhost:3998";
const DAY = 86_400_000;
let url: string;
let db: PrismaClient;
let tmp: string;

beforeAll(async () => {
  url = await createTestDatabase("ctl");
  // app/_lib (the sign-in check, the policy route) reads its configuration once, from here.
  process.env.DATABASE_URL = url;
  process.env.DASHBOARD_URL = BASE;
  db = createPrisma(url);
  tmp = mkdtempSync(path.join(os.tmpdir(), "og-ctl-"));
});

afterAll(async () => {
  await db?.$disconnect();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function ctl(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  return runCtl(args, { ...process.env, DATABASE_URL: url, ...env });
}

async function signIn(email: string, password: string): Promise<number> {
  const { POST } = await import("../../app/api/auth/[...all]/route");
  const response = await POST(
    new Request(`${BASE}/api/auth/sign-in/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: BASE, "x-origingate-peer": "198.51.100.20" },
      body: JSON.stringify({ email, password }),
    }),
  );
  return response.status;
}

describe("ctl user:create", () => {
  it("creates a user who can sign in with that password; the activity log names ctl", async () => {
    const email = "ops@example.com";
    const password = "from-the-command-line-1";
    const run = await ctl(["user:create", "--email", email, "--password", password, "--role", "editor"]);
    expect(run).toMatchObject({ code: 0, stdout: "" });
    expect(run.stderr).toContain(`created editor ${email}`);
    expect(await db.user.findUniqueOrThrow({ where: { email }, select: { role: true } })).toEqual({ role: "editor" });
    expect(await signIn(email, password)).toBe(200);
    expect(await signIn(email, `${password}x`)).toBe(401);
    const [entry] = await db.activityEntry.findMany({ where: { target: email } });
    expect(entry).toMatchObject({ actor: "ctl", action: "user.create" });

    const list = await ctl(["user:list"]);
    expect(list.code).toBe(0);
    expect(list.stdout.split("\n")).toContain(`editor  ${email}`);
  });

  it("usage mistakes are exit 2 and create nothing; an e-mail in use is exit 1", async () => {
    const before = await db.user.count();
    const missing = await ctl(["user:create", "--email", "x@example.com", "--role", "viewer"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--password is required");
    const role = await ctl([
      "user:create",
      "--email",
      "x@example.com",
      "--password",
      "long-enough-pass",
      "--role",
      "root",
    ]);
    expect(role.code).toBe(2);
    expect(role.stderr).toMatch(/^--role: /m);
    const short = await ctl(["user:create", "--email", "x@example.com", "--password", "short", "--role", "viewer"]);
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/^--password: /m);
    const unknown = await ctl(["user:create", "--email", "x@example.com", "--admin"]);
    expect(unknown.code).toBe(2);
    expect(await db.user.count()).toBe(before);

    await ctl(["user:create", "--email", "twice@example.com", "--password", "long-enough-pass", "--role", "viewer"]);
    const again = await ctl([
      "user:create",
      "--email",
      "twice@example.com",
      "--password",
      "long-enough-pass",
      "--role",
      "admin",
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).not.toBe("");
    expect(await db.user.findUniqueOrThrow({ where: { email: "twice@example.com" } })).toMatchObject({
      role: "viewer",
    });
  });
});

describe("ctl audit:partitions", () => {
  const name = (ms: number) => `audit_event_p${new Date(ms).toISOString().slice(0, 10).replace(/-/g, "")}`;

  it("creates the partitions ahead, drops expired ones with their rows, then lists them", async () => {
    const now = Date.now();
    const ahead = name(now + 3 * DAY);
    const expired = name(now - 40 * DAY);
    // A missing partition ahead, and a partition (with a row) past a 30-day retention.
    await query(url, `drop table if exists ${ahead}`);
    await query(url, "select audit_event_create_partition($1::date)", [new Date(now - 40 * DAY)]);
    await query(
      url,
      "insert into audit_event (ts, gateway_id, kind, tenant, decision, reason) values ($1, 'gw-old', 'handshake', 'old', 'accepted', 'allowed')",
      [new Date(now - 40 * DAY)],
    );

    const run = await ctl(["audit:partitions"], { AUDIT_RETENTION_DAYS: "30" });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^retention 30 days: created \d+, dropped \d+ partition\(s\)/m);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const names = (await listAuditPartitions(client).finally(() => client.end())).map((p) => p.name);
    expect(names).toContain(ahead);
    expect(names).not.toContain(expired);
    expect(await query(url, "select 1 from audit_event where gateway_id = 'gw-old'")).toEqual([]);
    // stdout: one line per partition, name, range and estimated rows, tab-separated.
    const lines = run.stdout.trim().split("\n");
    expect(lines.map((l) => l.split("\t")[0])).toEqual(names);
    expect(lines.find((l) => l.startsWith(`${ahead}\t`))).toMatch(
      new RegExp(
        `^${ahead}\\t${new Date(Math.floor((now + 3 * DAY) / DAY) * DAY).toISOString()} \\.\\. \\S+\\t~\\d+ rows$`,
      ),
    );

    const again = await ctl(["audit:partitions"], { AUDIT_RETENTION_DAYS: "30" });
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/^retention 30 days: created 0, dropped 0 partition\(s\)\.$/m);
  });

  it("exits 1 while another process maintains the partitions", async () => {
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query("select pg_advisory_lock($1)", [AUDIT_PARTITION_LOCK_KEY]);
      const run = await ctl(["audit:partitions"]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("another process is maintaining the audit partitions right now");
      expect(run.stdout).toBe("");
    } finally {
      await holder.end();
    }
  });
});

describe("ctl secrets:new-key", () => {
  it("prints a new key SECRETS_KEY accepts, on stdout, without a database", async () => {
    // An unreachable database: the command must not need one.
    const env = { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" };
    const [one, two] = await Promise.all([ctl(["secrets:new-key"], env), ctl(["secrets:new-key"], env)]);
    for (const run of [one!, two!]) {
      expect(run).toMatchObject({ code: 0, stderr: "" });
      expect(run.stdout).toMatch(/^\S+\n$/);
      expect(() => parseSecretsKey(run.stdout.trim())).not.toThrow();
    }
    expect(one!.stdout).not.toBe(two!.stdout);
  });
});

describe("ctl policy:export", () => {
  let api: Server;
  let apiUrl: string;
  let token: string;
  const DOCUMENT = {
    origins: [
      { pattern: "https://app.example.com", note: "the app" },
      { pattern: "https://*.example.org:8443" },
      { pattern: "https://gone.example.com", expiresAt: "2001-01-01T00:00:00.000Z" },
    ],
  };

  beforeAll(async () => {
    const { GET } = await import("../../app/api/v1/tenants/[slug]/policy/route");
    // The real route (apiRoute, token check, getPolicy) behind a plain HTTP server.
    api = createServer((req, res) => {
      const match = /^\/api\/v1\/tenants\/([^/?]+)\/policy$/.exec(req.url ?? "");
      if (req.method !== "GET" || !match) {
        res.writeHead(404).end();
        return;
      }
      const headers = new Headers();
      for (const [key, value] of Object.entries(req.headers)) if (typeof value === "string") headers.set(key, value);
      void GET(new Request(`${BASE}${req.url}`, { headers }), {
        params: Promise.resolve({ slug: decodeURIComponent(match[1]!) }),
      }).then(async (response) => {
        res.writeHead(response.status, Object.fromEntries(response.headers));
        res.end(Buffer.from(await response.arrayBuffer()));
      });
    });
    await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
    apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    ({ token } = await createApiToken({ db, input: { name: "export", role: "viewer" }, createdById: null }));
  });

  afterAll(async () => {
    api?.closeAllConnections();
    await new Promise((resolve) => api?.close(resolve));
  });

  /** The export without its "generated <time>" stamp. */
  const unstamped = (text: string) => text.replace(/generated \d{4}-\d\d-\d\dT[\d:.]+Z/g, "generated <now>");

  function expected(format: ExportFormat, tenant: string, version: number, document: PolicyDocument): string {
    return unstamped(exportStaticMap({ format, tenant, version, document, now: new Date() }));
  }

  it("--tenant: the server's policy through the API, as the map for nginx", async () => {
    const tenant = await createTenant(url, { policy: DOCUMENT });
    const run = await ctl(["policy:export", "--format", "nginx", "--tenant", tenant.slug, "--url", apiUrl], {
      OG_API_TOKEN: token,
    });
    expect(run.code).toBe(0);
    expect(unstamped(run.stdout)).toBe(expected("nginx", tenant.slug, 1, parsePolicyDocument(DOCUMENT)));
    expect(run.stdout).toContain(`"https://app.example.com" 1;`);
    expect(run.stdout).toContain("left out: https://gone.example.com: expired");

    const noToken = await ctl(["policy:export", "--format", "nginx", "--tenant", tenant.slug, "--url", apiUrl], {
      OG_API_TOKEN: "",
    });
    expect(noToken).toMatchObject({ code: 1, stdout: "" });
    expect(noToken.stderr).toContain("OG_API_TOKEN is not set");
    const unknown = await ctl(["policy:export", "--format", "nginx", "--tenant", "no-such-tenant", "--url", apiUrl], {
      OG_API_TOKEN: token,
    });
    expect(unknown).toMatchObject({ code: 1, stdout: "" });
  });

  it("--file with --out: the file's policy as a HAProxy map, written to the file, with no API", async () => {
    const file = path.join(tmp, "payments.yaml");
    const out = path.join(tmp, "payments.map");
    writeFileSync(file, policyToYaml({ tenant: "payments", version: 7, document: DOCUMENT }));
    const run = await ctl(["policy:export", "--format", "haproxy", "--file", file, "--out", out], {
      OG_API_TOKEN: undefined,
      OG_API_URL: "http://127.0.0.1:1",
    });
    expect(run).toMatchObject({ code: 0, stdout: "" });
    expect(run.stderr).toContain(`wrote ${out}`);
    expect(unstamped(readFileSync(out, "utf8"))).toBe(
      expected("haproxy", "payments", 7, parsePolicyDocument(DOCUMENT)),
    );
  });

  it("a usage mistake is exit 1 (2 means differences for policy:*)", async () => {
    const run = await ctl(["policy:export", "--format", "caddy", "--tenant", "x", "--url", apiUrl], {
      OG_API_TOKEN: token,
    });
    expect(run).toMatchObject({ code: 1, stdout: "" });
    expect(run.stderr).toContain("--format must be one of nginx, haproxy");
  });
});
