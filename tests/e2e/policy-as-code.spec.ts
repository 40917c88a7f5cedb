/**
 * Policy as code against the real dashboard (`next start`) of the global setup, through
 * its HTTP API exactly as a CI runner would use it: `ctl policy:*` run in-process
 * (runPolicyCommand with captured output) and as real `npm run ctl` processes for the exit
 * codes a pipeline sees.
 *
 * Why the e2e tier: the commands talk only to the API, and this tier already runs the
 * production build of the dashboard against a throwaway database; an integration test
 * would have to build and start a second one.
 *
 * - pull → edit → plan → apply → drift, with every exit code (0 same, 2 differs, 1 error);
 * - pull → apply → pull is byte-identical (whatever order the server stored entries in),
 *   and an apply of an unchanged file writes no revision;
 * - a stale apply (the server moved on) is refused and changes nothing, file included;
 * - errors exit 1: invalid and hostile files, no/bad token, unknown tenant, unreachable
 *   API, usage errors;
 * - directories: pull --dir, drift/plan/apply --dir, all-or-nothing when one is stale;
 * - managed by code: PUT, rollback and "allow this origin" answer 409 managed_by_code;
 *   only a policy-as-code token applies, and only through the policy PUT: on rollback,
 *   "allow this origin" and rollout publish/promote/approve it gets 409 too; only an admin sets or clears the mark; the
 *   tenant page is read-only with a banner naming where the policy is managed.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { runPolicyCommand } from "../../server/cli/policy-commands";
import { createApiToken } from "../../server/domain/tokens/create-api-token";
import { runCtl } from "../helpers/run-cli";
import {
  baseURL,
  db,
  expect,
  makeTenant,
  makeToken,
  makeUser,
  policyVersion,
  signInUI,
  sql,
  test,
  tokenContext,
  unique,
} from "./support";

interface Run {
  code: number;
  out: string;
  err: string;
}

/** `ctl <args>` in-process against the e2e dashboard. */
async function ctl(token: string | undefined, ...args: string[]): Promise<Run> {
  let out = "";
  let err = "";
  const [name = "", ...rest] = args;
  const code = await runPolicyCommand(name, rest, {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    env: { OG_API_URL: baseURL(), ...(token ? { OG_API_TOKEN: token } : {}) },
    now: () => new Date(),
  });
  return { code, out, err };
}

/** `npm run ctl -- <args>` as a real process (what a CI step runs). */
async function ctlProcess(token: string, ...args: string[]): Promise<Run> {
  // No DATABASE_URL: the policy commands need the API only.
  const env = { ...withoutDatabase(process.env), OG_API_URL: baseURL(), OG_API_TOKEN: token };
  const { code, stdout, stderr } = await runCtl(args, env);
  return { code, out: stdout, err: stderr };
}

function withoutDatabase(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { DATABASE_URL: _database, E2E_DATABASE_URL: _e2e, ...rest } = env;
  return rest;
}

async function scratchDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), "og-pac-"));
}

async function policyToken(role: "editor" | "admin" = "editor"): Promise<string> {
  const { token } = await createApiToken({
    db: db(),
    input: { name: unique("pac"), role, policyAsCode: true },
    createdById: null,
  });
  return token;
}

async function revisionCount(slug: string): Promise<number> {
  const rows = await sql<{ n: number }>(
    "select count(*)::int as n from policy_revision r join tenant t on t.id = r.tenant_id where t.slug = $1",
    [slug],
  );
  return rows[0]?.n ?? -1;
}

async function serverPolicy(token: string, slug: string) {
  const api = await tokenContext(token);
  const body = await (await api.get(`/api/v1/tenants/${slug}/policy`)).json();
  await api.dispose();
  return body;
}

test.describe("ctl policy:* through the API", () => {
  test("pull → edit → plan → apply → drift as real processes, with their exit codes", async () => {
    const slug = await makeTenant(["https://app.example.com", "https://*.example.org"]);
    const token = await makeToken("editor");
    const dir = await scratchDir();
    const file = path.join(dir, `${slug}.yaml`);

    const pulled = await ctlProcess(token, "policy:pull", "--tenant", slug);
    expect(pulled.code, pulled.err).toBe(0);
    expect(pulled.out).toContain(`metadata:\n  tenant: ${slug}\n  version: 1\nspec:\n  mode: enforce\n`);
    await writeFile(file, pulled.out);

    expect((await ctlProcess(token, "policy:validate", "--file", file)).code).toBe(0);
    const noChange = await ctlProcess(token, "policy:plan", "--file", file);
    expect(noChange.code, noChange.err).toBe(0);
    expect(noChange.out).toContain("no changes");
    expect((await ctlProcess(token, "policy:drift", "--file", file)).code).toBe(0);

    // The edit a reviewer would see in a pull request.
    const edited = pulled.out
      .replace(
        "    - pattern: https://app.example.com\n      note: null\n",
        "    - pattern: https://app.example.com\n      note: web app\n",
      )
      .replace(
        "  origins:\n",
        "  origins:\n    - pattern: https://admin.example.com\n      note: admin console\n      expiresAt: null\n",
      )
      .replace("    maxConnections: 10000\n", "    maxConnections: 5000\n");
    await writeFile(file, edited);

    const plan = await ctlProcess(token, "policy:plan", "--file", file);
    expect(plan.code, plan.err).toBe(2);
    expect(plan.out).toContain('+ https://admin.example.com  note "admin console"');
    expect(plan.out).toContain('~ https://app.example.com  note null → "web app"');
    expect(plan.out).toContain("~ limits.maxConnections (Concurrent connections (tenant)): 10000 → 5000");
    // The impact preview on recorded traffic (SPEC §5.2): a new tenant has none to decide differently.
    expect(plan.out).toContain("Impact on recorded traffic");
    expect(plan.out).toContain("no recorded handshake would be decided differently");
    expect(plan.out).toContain("policy:apply would save version 2");
    expect((await ctlProcess(token, "policy:drift", "--file", file)).code).toBe(2);
    expect(await policyVersion(slug)).toBe(1); // plan and drift write nothing

    const applied = await ctlProcess(token, "policy:apply", "--file", file, "--comment", "from the e2e session");
    expect(applied.code, applied.err).toBe(0);
    expect(applied.out).toContain(`${slug}: applied ${file} as version 2`);
    expect(await policyVersion(slug)).toBe(2);
    const policy = await serverPolicy(token, slug);
    expect(policy.limits.maxConnections).toBe(5000);
    expect(policy.origins.map((o: { pattern: string }) => o.pattern).sort()).toEqual([
      "https://*.example.org",
      "https://admin.example.com",
      "https://app.example.com",
    ]);
    // The file now records the version it produced; nothing else in it moved.
    expect(await readFile(file, "utf8")).toBe(edited.replace("  version: 1\n", "  version: 2\n"));

    const drift = await ctlProcess(token, "policy:drift", "--file", file);
    expect(drift.code, drift.out).toBe(0);
    expect(drift.out).toContain("in sync");
    const again = await ctlProcess(token, "policy:apply", "--file", file);
    expect(again.code).toBe(0);
    expect(again.out).toContain("nothing to apply");
    expect(await revisionCount(slug)).toBe(2);
    await rm(dir, { recursive: true });
  });

  test("pull → apply → pull is byte-identical; an unchanged apply writes no revision", async () => {
    const slug = await makeTenant();
    const token = await makeToken("editor");
    // Stored in an order the file does not use (entries sorted there), CORS lists as written.
    const api = await tokenContext(token);
    const put = await api.put(`/api/v1/tenants/${slug}/policy`, {
      headers: { "If-Match": "1" },
      data: {
        origins: [
          { pattern: "https://zeta.example.com", note: "yes" },
          { pattern: "HTTPS://Alpha.Example.com:443", note: "null", expiresAt: "2099-01-01T00:00:00+02:00" },
          { pattern: "http://localhost:*" },
          { pattern: "null" },
        ],
        cors: { methods: ["POST", "get"], allowHeaders: ["X-B", "x-a"], exposeHeaders: [], maxAgeSeconds: 60 },
        subprotocols: ["v2", "v1"],
        token: "required",
      },
    });
    expect(put.status(), await put.text()).toBe(200);
    await api.dispose();

    const first = await ctl(token, "policy:pull", "--tenant", slug);
    expect(first.code, first.err).toBe(0);
    const dir = await scratchDir();
    const file = path.join(dir, "policy.yaml");
    await writeFile(file, first.out);
    const revisions = await revisionCount(slug);
    const applied = await ctl(token, "policy:apply", "--file", file);
    expect(applied.code, applied.err).toBe(0);
    expect(applied.out).toContain("nothing to apply");
    expect(await revisionCount(slug)).toBe(revisions);
    const second = await ctl(token, "policy:pull", "--tenant", slug);
    expect(second.out).toBe(first.out);
    // Sorted by pattern (code-unit order); `null` quoted so it reads back as the pattern.
    expect(first.out).toContain(
      '      expiresAt: null\n    - pattern: "null"\n      note: null\n      expiresAt: null\n',
    );
    expect(first.out.indexOf("http://localhost:*")).toBeLessThan(first.out.indexOf("https://alpha.example.com"));
    expect(first.out.indexOf("https://alpha.example.com")).toBeLessThan(first.out.indexOf("https://zeta.example.com"));

    // A real change: pull afterwards equals the applied file, apart from metadata.version.
    const changed = first.out.replace("    maxAgeSeconds: 60\n", "    maxAgeSeconds: 120\n");
    await writeFile(file, changed);
    expect((await ctl(token, "policy:apply", "--file", file)).code).toBe(0);
    const third = await ctl(token, "policy:pull", "--tenant", slug);
    const version = await policyVersion(slug);
    expect(third.out).toBe(changed.replace(/^ {2}version: \d+$/m, `  version: ${version}`));
    // And a PUT of the same document through the API is idempotent too.
    const again = await (await tokenContext(token)).put(`/api/v1/tenants/${slug}/policy`, {
      headers: { "If-Match": `"${version}"` },
      data: await serverPolicy(token, slug),
    });
    expect(again.status()).toBe(200);
    expect(await again.json()).toMatchObject({ version, changed: false });
    expect(await policyVersion(slug)).toBe(version);
    await rm(dir, { recursive: true });
  });

  test("a stale apply is refused and changes nothing (server, revisions, file)", async () => {
    const slug = await makeTenant(["https://one.example.com"]);
    const token = await makeToken("editor");
    const dir = await scratchDir();
    const file = path.join(dir, `${slug}.yaml`);
    await writeFile(file, (await ctl(token, "policy:pull", "--tenant", slug)).out);

    // Someone else saves meanwhile (the dashboard, another pipeline).
    const api = await tokenContext(token);
    const other = await api.put(`/api/v1/tenants/${slug}/policy?comment=someone%20else`, {
      headers: { "If-Match": "1" },
      data: { origins: [{ pattern: "https://one.example.com" }, { pattern: "https://two.example.com" }] },
    });
    expect(other.status()).toBe(200);
    await api.dispose();

    const mine = (await readFile(file, "utf8")).replace(
      "  origins:\n",
      "  origins:\n    - pattern: https://mine.example.com\n",
    );
    await writeFile(file, mine);
    const before = await serverPolicy(token, slug);
    const plan = await ctl(token, "policy:plan", "--file", file);
    expect(plan.code).toBe(1);
    expect(plan.out).toContain("The server moved on: applying this file as it is would also undo version 2:");
    const apply = await ctl(token, "policy:apply", "--file", file);
    expect(apply.code).toBe(1);
    expect(apply.err).toContain("refused: the server moved on. The file is based on version 1");
    expect(apply.err).toContain("version 2 by token:");
    expect(apply.err).toContain('"someone else"');
    expect(apply.err).toContain("Nothing was changed");
    expect(await serverPolicy(token, slug)).toEqual(before);
    expect(await revisionCount(slug)).toBe(2);
    expect(await readFile(file, "utf8")).toBe(mine);

    // The server's own If-Match check refuses the same write (what a race would meet).
    const direct = await (await tokenContext(token)).put(`/api/v1/tenants/${slug}/policy`, {
      headers: { "If-Match": "1" },
      data: { origins: [{ pattern: "https://mine.example.com" }] },
    });
    expect(direct.status()).toBe(409);
    expect((await direct.json()).error.code).toBe("version_conflict");
    await rm(dir, { recursive: true });
  });

  test("errors exit 1 with a clear message", async () => {
    const slug = await makeTenant();
    const token = await makeToken("editor");
    const dir = await scratchDir();
    const file = path.join(dir, "p.yaml");
    const valid = (await ctl(token, "policy:pull", "--tenant", slug)).out;

    const hostile: Array<[string, string, RegExp]> = [
      [
        "billion laughs",
        `x: &a [1,1,1,1,1,1,1,1]\ny: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nz: [*b,*b,*b,*b,*b,*b,*b,*b]\n${valid}`,
        /anchors \(&a\) are not allowed/,
      ],
      [
        "duplicate key",
        valid.replace("  mode: enforce\n", "  mode: enforce\n  mode: report-only\n"),
        /:8:\d+: invalid YAML: Map keys must be unique/,
      ],
      ["custom tag", valid.replace("  mode: enforce", "  mode: !!js/function enforce"), /tags .* are not allowed/],
      ["unknown apiVersion", valid.replace("origingate/v1", "origingate/v9"), /apiVersion: must be origingate\/v1/],
      ["not a mapping", "- 1\n", /must be a mapping/],
      [
        "invalid pattern",
        valid.replace("  origins: []\n", "  origins:\n    - pattern: https://*.*.example.com\n"),
        /spec.origins\[0\].pattern/,
      ],
    ];
    for (const [name, text, message] of hostile) {
      await writeFile(file, text);
      for (const command of ["policy:validate", "policy:plan", "policy:apply", "policy:drift"]) {
        const run = await ctl(token, command, "--file", file);
        expect(run.code, `${name} / ${command}: ${run.err}`).toBe(1);
        expect(run.err, `${name} / ${command}`).toMatch(message);
      }
    }
    expect(await policyVersion(slug)).toBe(1);

    // Oversize: refused before it is read.
    await writeFile(file, `${valid}#${"x".repeat(16 * 1024 * 1024)}\n`);
    const big = await ctl(token, "policy:validate", "--file", file);
    expect(big.code).toBe(1);
    expect(big.err).toMatch(/a policy file is at most/);

    await writeFile(file, valid);
    expect((await ctl(undefined, "policy:plan", "--file", file)).err).toMatch(/OG_API_TOKEN is not set/);
    const badToken = await ctl(`og_${"x".repeat(43)}`, "policy:plan", "--file", file);
    expect(badToken.code).toBe(1);
    expect(badToken.err).toMatch(/refused the token \(401\)/);
    const unreachable = await runPolicyCommand("policy:drift", ["--file", file, "--url", "http://127.0.0.1:9"], {
      stdout: () => {},
      stderr: () => {},
      env: { OG_API_TOKEN: token },
      now: () => new Date(),
    });
    expect(unreachable).toBe(1);
    await writeFile(file, valid.replace(`tenant: ${slug}`, "tenant: no-such-tenant"));
    const unknown = await ctl(token, "policy:plan", "--file", file);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/not found/);
    const usage = await ctl(token, "policy:plan", "--file", file, "--dir", dir);
    expect(usage.code).toBe(1);
    expect((await ctl(token, "policy:plan", "--nope")).code).toBe(1);
    // A viewer may plan but not apply.
    const viewer = await makeToken("viewer");
    await writeFile(file, valid.replace("  mode: enforce", "  mode: report-only"));
    expect((await ctl(viewer, "policy:plan", "--file", file)).code).toBe(2);
    const refused = await ctl(viewer, "policy:apply", "--file", file);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/may not do this \(403\)/);
    await rm(dir, { recursive: true });
  });

  test("a directory: pull --dir, drift/plan/apply --dir, nothing applied when one file is stale", async () => {
    const a = await makeTenant(["https://a.example.com"]);
    const b = await makeTenant(["https://b.example.com"]);
    const token = await makeToken("editor");
    const dir = await scratchDir();
    const pulled = await ctl(token, "policy:pull", "--dir", dir);
    expect(pulled.code, pulled.err).toBe(0);
    const names = await readdir(dir);
    expect(names).toEqual(expect.arrayContaining([`${a}.yaml`, `${b}.yaml`]));
    // Other specs' tenants are pulled too; keep the two of this test.
    for (const name of names) if (name !== `${a}.yaml` && name !== `${b}.yaml`) await rm(path.join(dir, name));
    expect((await ctl(token, "policy:drift", "--dir", dir)).code).toBe(0);

    const fileA = path.join(dir, `${a}.yaml`);
    await writeFile(
      fileA,
      (await readFile(fileA, "utf8")).replace("    maxAgeSeconds: 600\n", "    maxAgeSeconds: 30\n"),
    );
    const drift = await ctl(token, "policy:drift", "--dir", dir);
    expect(drift.code).toBe(2);
    expect(drift.out).toContain(`${a}: DRIFT`);
    expect(drift.out).toContain(`${b}: in sync`);

    // b moves on at the server: the whole directory is refused, a included.
    const api = await tokenContext(token);
    await api.put(`/api/v1/tenants/${b}/policy`, {
      headers: { "If-Match": "1" },
      data: { mode: "report-only", origins: [{ pattern: "https://b.example.com" }] },
    });
    const fileB = path.join(dir, `${b}.yaml`);
    await writeFile(
      fileB,
      (await readFile(fileB, "utf8")).replace("  credentials: forbid\n", "  credentials: allow\n"),
    );
    const refused = await ctl(token, "policy:apply", "--dir", dir);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("nothing applied");
    expect(await policyVersion(a)).toBe(1);

    await writeFile(fileB, (await ctl(token, "policy:pull", "--tenant", b)).out);
    const applied = await ctl(token, "policy:apply", "--dir", dir);
    expect(applied.code, applied.err).toBe(0);
    expect(applied.out).toContain(`${a}: applied`);
    expect(applied.out).toContain(`${b}: nothing to apply`);
    expect(await policyVersion(a)).toBe(2);
    expect((await ctl(token, "policy:drift", "--dir", dir)).code).toBe(0);

    // A file named for another tenant is an error.
    await writeFile(path.join(dir, "wrong-name.yaml"), await readFile(fileA, "utf8"));
    const misnamed = await ctl(token, "policy:validate", "--dir", dir);
    expect(misnamed.code).toBe(1);
    expect(misnamed.err).toContain(`name the file ${a}.yaml`);
    await api.dispose();
    await rm(dir, { recursive: true });
  });
});

test.describe("managed by code", () => {
  test("every write path but a policy-as-code apply answers 409 managed_by_code", async () => {
    const slug = await makeTenant(["https://one.example.com"]);
    const editor = await makeToken("editor");
    const admin = await tokenContext(await makeToken("admin"));
    const repo = "https://github.com/acme/origin-policies";

    // Only an admin sets the mark.
    const asEditor = await tokenContext(editor);
    expect((await asEditor.patch(`/api/v1/tenants/${slug}`, { data: { managedBy: repo } })).status()).toBe(403);
    const marked = await admin.patch(`/api/v1/tenants/${slug}`, { data: { managedBy: repo } });
    expect(marked.status(), await marked.text()).toBe(200);
    expect((await marked.json()).managedBy).toBe(repo);

    const put = await asEditor.put(`/api/v1/tenants/${slug}/policy`, {
      headers: { "If-Match": "1" },
      data: { origins: [{ pattern: "https://two.example.com" }] },
    });
    expect(put.status()).toBe(409);
    const error = (await put.json()).error;
    expect(error.code).toBe("managed_by_code");
    expect(error.message).toContain(repo);
    expect(error.details).toEqual({ managedBy: repo });
    expect((await admin.post(`/api/v1/tenants/${slug}/revisions/1/rollback`, { data: {} })).status()).toBe(409);
    const [event] = await sql<{ id: string }>(
      `insert into audit_event (gateway_id, kind, tenant, decision, reason, origin, origin_normalized, policy_version)
       values ('gw-e2e', 'handshake', $1, 'rejected', 'origin_not_allowed', 'https://three.example.com', 'https://three.example.com', 1)
       returning id::text as id`,
      [slug],
    );
    const allow = await asEditor.post(`/api/v1/audit/${event!.id}/allow`, { data: {} });
    expect(allow.status()).toBe(409);
    expect((await allow.json()).error.code).toBe("managed_by_code");
    expect(await policyVersion(slug)).toBe(1);

    // ctl apply with a plain token is refused; with a policy-as-code token it applies.
    const dir = await scratchDir();
    const file = path.join(dir, `${slug}.yaml`);
    const pulled = (await ctl(editor, "policy:pull", "--tenant", slug)).out;
    await writeFile(file, pulled.replace("  origins:\n", "  origins:\n    - pattern: https://two.example.com\n"));
    const plain = await ctl(editor, "policy:apply", "--file", file);
    expect(plain.code).toBe(1);
    expect(plain.err).toContain("managed by code");
    expect(plain.err).toContain("--policy-as-code");
    expect(await policyVersion(slug)).toBe(1);
    const scoped = await ctl(await policyToken(), "policy:apply", "--file", file);
    expect(scoped.code, scoped.err).toBe(0);
    expect(await policyVersion(slug)).toBe(2);

    // The admin removes the mark: the dashboard's write paths work again.
    expect((await admin.patch(`/api/v1/tenants/${slug}`, { data: { managedBy: null } })).status()).toBe(200);
    const after = await asEditor.put(`/api/v1/tenants/${slug}/policy`, {
      headers: { "If-Match": "2" },
      data: { origins: [{ pattern: "https://one.example.com" }] },
    });
    expect(after.status(), await after.text()).toBe(200);
    await Promise.all([admin.dispose(), asEditor.dispose()]);
    await rm(dir, { recursive: true });
  });

  test("a policy-as-code token gets 409 managed_by_code on every write path but the apply", async () => {
    const repo = "https://github.com/acme/origin-policies";
    const admin = await tokenContext(await makeToken("admin"));
    const editor = await tokenContext(await makeToken("editor"));
    const pipeline = await tokenContext(await policyToken("admin"));
    // Prepared while nobody manages them: a revision to roll back to, an open shadow rollout,
    // and (on a tenant that requires approval) a canary waiting for a second person.
    const plain = await makeTenant(["https://one.example.com"]);
    const saved = await editor.put(`/api/v1/tenants/${plain}/policy`, {
      headers: { "If-Match": "1" },
      data: { origins: [{ pattern: "https://two.example.com" }] },
    });
    expect(saved.status(), await saved.text()).toBe(200);
    const shadowed = await makeTenant(["https://one.example.com"]);
    const shadow = await editor.post(`/api/v1/tenants/${shadowed}/rollouts`, {
      data: { document: { origins: [] }, stage: "shadow" },
    });
    expect(shadow.status(), await shadow.text()).toBe(201);
    const shadowId = (await shadow.json()).id as string;
    const approving = await makeTenant(["https://one.example.com"]);
    expect((await admin.patch(`/api/v1/tenants/${approving}`, { data: { requireApproval: true } })).status()).toBe(200);
    const waiting = await editor.post(`/api/v1/tenants/${approving}/rollouts`, {
      data: { document: { origins: [] }, stage: "canary", canary: { percent: 10 } },
    });
    expect(waiting.status(), await waiting.text()).toBe(202);
    const waitingId = (await waiting.json()).id as string;
    for (const slug of [plain, shadowed, approving]) {
      expect((await admin.patch(`/api/v1/tenants/${slug}`, { data: { managedBy: repo } })).status()).toBe(200);
    }
    const [event] = await sql<{ id: string }>(
      `insert into audit_event (gateway_id, kind, tenant, decision, reason, origin, origin_normalized, policy_version)
       values ('gw-e2e', 'handshake', $1, 'rejected', 'origin_not_allowed', 'https://three.example.com', 'https://three.example.com', 2)
       returning id::text as id`,
      [plain],
    );

    const answers: Record<string, string> = {};
    for (const [name, send] of [
      ["rollback", () => pipeline.post(`/api/v1/tenants/${plain}/revisions/1/rollback`, { data: {} })],
      ["allow this origin", () => pipeline.post(`/api/v1/audit/${event!.id}/allow`, { data: {} })],
      [
        "publish a rollout",
        () => pipeline.post(`/api/v1/tenants/${plain}/rollouts`, { data: { version: 1, stage: "shadow" } }),
      ],
      [
        "promote a rollout",
        () => pipeline.post(`/api/v1/tenants/${shadowed}/rollouts/${shadowId}/promote`, { data: {} }),
      ],
      [
        "approve a rollout",
        () => pipeline.post(`/api/v1/tenants/${approving}/rollouts/${waitingId}/approve`, { data: {} }),
      ],
    ] as const) {
      const response = await send();
      const body = (await response.json().catch(() => ({}))) as { error?: { code?: string } };
      answers[name] = `${response.status()} ${body.error?.code ?? ""}`.trim();
    }
    expect(answers).toEqual({
      rollback: "409 managed_by_code",
      "allow this origin": "409 managed_by_code",
      "publish a rollout": "409 managed_by_code",
      "promote a rollout": "409 managed_by_code",
      "approve a rollout": "409 managed_by_code",
    });
    expect([await policyVersion(plain), await policyVersion(shadowed), await policyVersion(approving)]).toEqual([
      2, 1, 1,
    ]);
    const states = await sql<{ id: string; state: string }>(
      "select id::text as id, state from policy_rollout where id = any($1::uuid[]) order by state desc",
      [[shadowId, waitingId]],
    );
    expect(states).toEqual([
      { id: shadowId, state: "shadow" },
      { id: waitingId, state: "pending_approval" },
    ]);

    // Its apply (the policy PUT) still goes through.
    const applied = await pipeline.put(`/api/v1/tenants/${plain}/policy`, {
      headers: { "If-Match": "2" },
      data: { origins: [{ pattern: "https://four.example.com" }] },
    });
    expect(applied.status(), await applied.text()).toBe(200);
    expect(await policyVersion(plain)).toBe(3);
    await Promise.all([admin.dispose(), editor.dispose(), pipeline.dispose()]);
  });

  test("the tenant page is read-only with a banner naming where the policy is managed", async ({ page }) => {
    const slug = await makeTenant(["https://one.example.com"]);
    const repo = "https://git.example.com/acme/policies";
    await sql("update tenant set managed_by = $2 where slug = $1", [slug, repo]);
    await signInUI(page, await makeUser("admin"));
    await expect(page.getByRole("row").filter({ hasText: slug }).getByTitle(`Managed by code: ${repo}`)).toBeVisible();
    await page.goto(`/tenants/${slug}`);

    const banner = page.getByTestId("managed-by-code");
    await expect(banner).toContainText("Managed by code");
    await expect(banner.getByRole("link", { name: repo })).toHaveAttribute("href", repo);
    await expect(page.getByRole("table", { name: "Allowlist" })).toContainText("https://one.example.com");
    await expect(page.getByRole("button", { name: "Add", exact: true })).toHaveCount(0);
    await expect(page.getByRole("button", { name: /Remove/ })).toHaveCount(0);
    await page.getByRole("tab", { name: "Credential policy" }).click();
    await expect(page.getByRole("radiogroup", { name: "Mode" }).getByRole("radio").first()).toBeDisabled();
    await expect(page.getByRole("region", { name: "Unsaved changes" })).toHaveCount(0);
    await page.getByRole("tab", { name: "History" }).click();
    await expect(page.getByRole("table", { name: "Revisions" })).toBeVisible();
    await expect(page.getByRole("button", { name: /Roll back/ })).toHaveCount(0);

    // The admin removes the mark in Settings: the editor comes back.
    await page.getByRole("tab", { name: "Settings" }).click();
    await expect(page.getByRole("textbox", { name: /^Managed by \(/ })).toHaveValue(repo);
    await page.getByRole("button", { name: /Remove the mark/ }).click();
    await expect(banner).toHaveCount(0);
    await page.getByRole("tab", { name: "Allowlist" }).click();
    await expect(page.getByRole("button", { name: "Add", exact: true })).toBeVisible();

    // And marks it again from the same panel.
    await page.getByRole("tab", { name: "Settings" }).click();
    await page.getByRole("textbox", { name: /^Managed by \(/ }).fill("acme/policies on the internal Git");
    await page.getByRole("button", { name: "Mark as managed by code" }).click();
    await expect(banner).toContainText("acme/policies on the internal Git");
    await expect(banner.getByRole("link")).toHaveCount(0); // not a URL: plain text
  });
});

test("tokens page: a policy-as-code token is created and labelled as such", async ({ page }) => {
  await signInUI(page, await makeUser("admin"));
  await page.goto("/tokens");
  const name = unique("ci-policies");
  await page.getByLabel("Name (what uses it)").fill(name);
  await page.getByLabel("Policy as code").check();
  await page.getByRole("button", { name: "Create token" }).click();
  const row = page.getByRole("row").filter({ hasText: name });
  await expect(row).toContainText("policy as code");
  const [stored] = await sql<{ policy_as_code: boolean }>("select policy_as_code from api_token where name = $1", [
    name,
  ]);
  expect(stored?.policy_as_code).toBe(true);
});
