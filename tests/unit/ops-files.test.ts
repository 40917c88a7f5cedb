/**
 * The shipped Grafana dashboard and Prometheus rules (docs/ops/) read only metrics the gateway
 * exports: every expression names at least one series, and each `origingate_*` series it names
 * is in the gateway's registry (server/admin/metrics.ts). A renamed metric fails here.
 * promtool and a real Prometheus check the same files in tests/integration/ops-prometheus.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  dashboard,
  dashboardExpressions,
  exportedSeriesNames,
  metricNamesIn,
  PROMETHEUS_OWN,
  ruleExpressions,
} from "../helpers/ops-files";

describe("docs/ops", () => {
  it("the Grafana dashboard parses, has panels, and a tenant variable over an exported label", () => {
    const board = dashboard();
    expect(board.title).toBe("OriginGate gateways");
    expect(dashboardExpressions().length).toBeGreaterThan(15);
    const tenant = board.templating.list.find((v) => v.name === "tenant");
    expect(tenant?.definition).toBe("label_values(origingate_handshakes_total, tenant)");
  });

  it("every dashboard query reads series the gateway exports", async () => {
    const exported = await exportedSeriesNames();
    for (const { panel, expr } of dashboardExpressions()) {
      const names = metricNamesIn(expr);
      expect(names.length, `${panel}: ${expr} reads no metric`).toBeGreaterThan(0);
      for (const name of names) {
        expect(exported.has(name), `${panel}: ${name} is not exported by the gateway`).toBe(true);
      }
    }
  });

  it("every alerting rule reads series the gateway exports (or Prometheus' own up)", async () => {
    const exported = await exportedSeriesNames();
    const rules = ruleExpressions();
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const { alert, expr } of rules) {
      const names = metricNamesIn(expr);
      expect(names.length, `${alert} reads no metric`).toBeGreaterThan(0);
      for (const name of names) {
        expect(exported.has(name) || PROMETHEUS_OWN.has(name), `${alert}: ${name} is not exported`).toBe(true);
      }
    }
  });

  it("the name finder sees through selectors, ranges and binary operators", () => {
    expect(metricNamesIn('sum(rate(origingate_a_total{x="1"}[5m])) / origingate_b')).toEqual([
      "origingate_a_total",
      "origingate_b",
    ]);
    expect(metricNamesIn("origingate_policy_reload_seconds_bucket[1m]")).toEqual([
      "origingate_policy_reload_seconds_bucket",
    ]);
  });
});
