/**
 * The shipped operations files (docs/ops/) against the real tools (Debian's prometheus
 * package; .ci/run installs it):
 *
 * - `promtool check rules` accepts the alerting rules and `promtool test rules` passes their
 *   unit tests (firing, pending and silent cases for every alert);
 * - a real Prometheus scrapes a real gateway that served real handshakes, loads the same rules,
 *   and answers every Grafana panel query and every rule expression without an error; the
 *   handshake counters the dashboard is built on come back with the tenant's series.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../server/db/pg-server";
import { createTenant, type TenantFixture } from "../helpers/fixtures";
import { eventually, handshake, startGateway, type TestGateway } from "../helpers/gateway";
import {
  dashboardExpressions,
  RULES_FILE,
  RULES_TEST_FILE,
  ruleExpressions,
  withGrafanaVariables,
} from "../helpers/ops-files";
import { createTestDatabase } from "../helpers/test-db";

const run = promisify(execFile);

describe("promtool", () => {
  it("checks the alerting rules", async () => {
    const { stdout } = await run("promtool", ["check", "rules", RULES_FILE]);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it("passes the rules' unit tests", async () => {
    const { stdout } = await run("promtool", ["test", "rules", RULES_TEST_FILE], {
      cwd: path.dirname(RULES_TEST_FILE),
    });
    expect(stdout).toContain("SUCCESS");
  });
});

describe("a real Prometheus scraping a real gateway", () => {
  let gateway: TestGateway;
  let tenant: TenantFixture;
  let prometheus: ChildProcess;
  let dir: string;
  let url: string;

  beforeAll(async () => {
    const db = await createTestDatabase("ops_prom");
    tenant = await createTenant(db, { policy: { origins: ["https://app.example.com"] } });
    gateway = await startGateway(db);
    expect((await handshake(`${gateway.wsUrl}/t/${tenant.slug}/x`, { origin: "https://app.example.com" })).status).toBe(
      101,
    );
    expect((await handshake(`${gateway.wsUrl}/t/${tenant.slug}/x`, { origin: "https://evil.example" })).status).toBe(
      403,
    );
    dir = await mkdtemp(path.join(tmpdir(), "og-prometheus-"));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    await writeFile(
      path.join(dir, "prometheus.yml"),
      [
        "global: { scrape_interval: 1s, evaluation_interval: 1s }",
        `rule_files: [${JSON.stringify(RULES_FILE)}]`,
        "scrape_configs:",
        "  - job_name: origingate",
        `    static_configs: [{ targets: ["127.0.0.1:${gateway.port}"] }]`,
        "",
      ].join("\n"),
    );
    prometheus = spawn(
      "prometheus",
      [
        `--config.file=${path.join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${path.join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: "ignore" },
    );
    // Two scrapes of the gateway: enough samples for rate() over 1m windows.
    await eventually(
      async () => {
        const result = await query('count_over_time(up{job="origingate"}[1m])');
        return Number(result[0]?.value[1] ?? 0) >= 2;
      },
      30_000,
      200,
    );
  }, 60_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill("SIGTERM");
      await new Promise((resolve) => prometheus.once("exit", resolve));
    }
    if (dir) await rm(dir, { recursive: true, force: true });
    await gateway?.stop();
  });

  async function query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await response.json()) as { status: string; error?: string; data?: { result: unknown } };
    if (body.status !== "success") throw new Error(`${expr}: ${body.error}`);
    return body.data!.result as Array<{ metric: Record<string, string>; value: [number, string] }>;
  }

  it("answers every Grafana panel query", async () => {
    for (const { panel, expr } of dashboardExpressions()) {
      await expect(query(withGrafanaVariables(expr)), panel).resolves.toBeDefined();
    }
  });

  it("sees the gateway's decisions through the dashboard's own queries", async () => {
    const byDecision = dashboardExpressions().find((e) => e.panel === "Handshakes per second by decision")!;
    const result = await eventually(async () => {
      const rows = await query(withGrafanaVariables(byDecision.expr.replace("rate(", "increase(")));
      return rows.length >= 2 ? rows : null;
    }, 15_000);
    expect(result.map((r) => r.metric.decision).sort()).toEqual(["accepted", "rejected"]);
    const versions = await query(
      withGrafanaVariables(dashboardExpressions().find((e) => e.panel === "Policy version by gateway")!.expr),
    );
    expect(versions.some((r) => r.metric.tenant === tenant.slug)).toBe(true);
  });

  it("loads the alerting rules and evaluates every expression", async () => {
    const rules = (await (await fetch(`${url}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; health: string }> }> };
    };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name).sort()).toEqual(
      ruleExpressions()
        .map((r) => r.alert)
        .sort(),
    );
    for (const { alert, expr } of ruleExpressions()) {
      await expect(query(expr), alert).resolves.toBeDefined();
    }
    // Evaluated by Prometheus itself without an error.
    await eventually(async () => {
      const again = (await (await fetch(`${url}/api/v1/rules`)).json()) as typeof rules;
      return again.data.groups.flatMap((g) => g.rules).every((r) => r.health === "ok");
    }, 15_000);
  });
});
