/**
 * The shipped operations files (docs/ops/): the Prometheus alerting rules and the Grafana
 * dashboard, their PromQL expressions, and the metric names those expressions use — read by
 * tests/unit/ops-files.test.ts (names against the gateway's registry) and
 * tests/integration/ops-prometheus.test.ts (promtool, and a real Prometheus scraping a gateway).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { createMetrics } from "../../server/admin/metrics";

export const OPS_DIR = path.resolve(import.meta.dirname, "../../docs/ops");
export const RULES_FILE = path.join(OPS_DIR, "prometheus", "origingate-alerts.yml");
export const RULES_TEST_FILE = path.join(OPS_DIR, "prometheus", "origingate-alerts.test.yml");
export const DASHBOARD_FILE = path.join(OPS_DIR, "grafana", "origingate-gateways.json");

/** Series Prometheus makes itself (not exported by the gateway). */
export const PROMETHEUS_OWN = new Set(["up"]);

interface Panel {
  title?: string;
  type: string;
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

export function dashboard(): { title: string; panels: Panel[]; templating: { list: Array<Record<string, unknown>> } } {
  return JSON.parse(readFileSync(DASHBOARD_FILE, "utf8"));
}

/** Every panel query of the dashboard (rows' nested panels included). */
export function dashboardExpressions(): Array<{ panel: string; expr: string }> {
  const walk = (panels: Panel[]): Array<{ panel: string; expr: string }> =>
    panels.flatMap((p) => [
      ...(p.targets ?? []).map((t) => ({ panel: p.title ?? "(untitled)", expr: t.expr ?? "" })),
      ...walk(p.panels ?? []),
    ]);
  return walk(dashboard().panels);
}

export function ruleExpressions(): Array<{ alert: string; expr: string }> {
  const doc = parse(readFileSync(RULES_FILE, "utf8")) as {
    groups: Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }>;
  };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ alert: r.alert ?? r.record ?? "?", expr: String(r.expr) })));
}

/**
 * The series names an expression reads: identifiers followed by a selector, a range or an
 * operator position — every `origingate_*` word, plus Prometheus' own `up`.
 */
export function metricNamesIn(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/\b(origingate_[a-z0-9_]+|up)\b(?=\s*[{[)\s/*+-]|$)/g)) names.add(m[1]!);
  return [...names];
}

/** The series names a gateway's /metrics can carry (histograms as _bucket, _sum and _count). */
export async function exportedSeriesNames(): Promise<Set<string>> {
  const metrics = await createMetrics().registry.getMetricsAsJSON();
  const names = new Set<string>();
  for (const m of metrics) {
    if (String(m.type) === "histogram")
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${m.name}${suffix}`);
    else names.add(m.name);
  }
  return names;
}

/** An expression with the dashboard's variables replaced, as Grafana would send it. */
export function withGrafanaVariables(expr: string): string {
  return expr.replaceAll("$__rate_interval", "1m").replaceAll("$__range", "5m").replaceAll("$tenant", ".*");
}
