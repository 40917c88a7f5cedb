/**
 * Every page of the dashboard, at a desktop (1280×800) and a phone (390×844) size:
 *  - accessibility: axe-core (@axe-core/playwright, WCAG 2 A/AA rules) finds no serious or
 *    critical violation;
 *  - layout: nothing spills sideways — no element whose content is wider than its box
 *    (scrollWidth > clientWidth) unless it is a deliberate scroll container (overflow-x auto
 *    or scroll, or hidden with an ellipsis), the page itself does not scroll sideways, and no
 *    text is styled to break anywhere (word-break: break-all, overflow-wrap: anywhere);
 *  - a full-page screenshot of each is kept under test-results/pages/<page>-<size>.png (a
 *    test artifact: look at them after a run; `npx playwright test pages-a11y-layout`).
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";
import { expect, makeTenant, makeUser, signInUI, sql, test, unique } from "./support";

const OUT = path.join("test-results", "pages");
mkdirSync(OUT, { recursive: true });

const SIZES = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const;

interface PageCase {
  name: string;
  /** The path, given the seeded tenant's slug. */
  path: (slug: string) => string;
  /** Signed out (login, setup) or as an admin (sees every page). */
  signedIn: boolean;
  /** What shows the page has rendered. */
  ready: (page: Page) => Promise<void>;
  /** Tables (by name) that fit the desktop size without scrolling sideways (their actions stay in view). */
  fitAtDesktop?: string[];
}

const heading = (name: string | RegExp) => async (page: Page) => {
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
};

const PAGES: PageCase[] = [
  { name: "login", path: () => "/login", signedIn: false, ready: heading("OriginGate") },
  { name: "setup", path: () => "/setup", signedIn: false, ready: heading("Create the first admin") },
  { name: "tenants", path: () => "/tenants", signedIn: true, ready: heading("Tenants") },
  ...(["allowlist", "credentials", "history", "settings"] as const).map((tab) => ({
    name: `tenant-${tab}`,
    path: (slug: string) => `/tenants/${slug}?tab=${tab}`,
    signedIn: true,
    ready: async (page: Page) => {
      await expect(page.getByRole("tab", { selected: true })).toBeVisible();
      await expect(page.getByRole("tabpanel")).not.toContainText("Loading");
    },
  })),
  { name: "gateways", path: () => "/gateways", signedIn: true, ready: heading("Gateways") },
  { name: "audit", path: (slug) => `/audit?tenant=${slug}`, signedIn: true, ready: heading("Audit") },
  { name: "tester", path: () => "/tester", signedIn: true, ready: heading("Handshake tester") },
  { name: "users", path: () => "/users", signedIn: true, ready: heading("Users") },
  { name: "tokens", path: () => "/tokens", signedIn: true, ready: heading("API tokens") },
  { name: "siem", path: () => "/siem", signedIn: true, ready: heading("SIEM export") },
  {
    name: "alerts",
    path: () => "/alerts",
    signedIn: true,
    ready: async (page: Page) => {
      await heading("Alerts")(page);
      // Every table seeded below has rendered (the lists load after the page).
      for (const table of ["Alert webhooks", "Alert rules", "Recent alerts", "Delivery log"]) {
        await expect(page.getByRole("table", { name: table })).toBeVisible();
      }
    },
    fitAtDesktop: ["Alert webhooks", "Alert rules", "Recent alerts", "Delivery log"],
  },
  { name: "activity", path: () => "/activity", signedIn: true, ready: heading("Activity") },
  { name: "account", path: () => "/account", signedIn: true, ready: heading("Account") },
];

/** Elements whose content is wider than their box without being meant to scroll, and text cut anywhere. */
function layoutProblems(
  page: Page,
): Promise<{ overflowing: string[]; cutAnywhere: string[]; pageScrollsSideways: boolean }> {
  return page.evaluate(() => {
    const label = (el: Element) => {
      const id = el.id ? `#${el.id}` : "";
      const classes = [...el.classList].map((c) => `.${c}`).join("");
      const text = (el.textContent ?? "").trim().slice(0, 40);
      return `${el.tagName.toLowerCase()}${id}${classes} "${text}"`;
    };
    const overflowing: string[] = [];
    const cutAnywhere: string[] = [];
    for (const el of document.body.querySelectorAll("*")) {
      if (!(el instanceof HTMLElement)) continue; // SVG geometry is the chart's own business
      const style = getComputedStyle(el);
      if (style.wordBreak === "break-all" || style.overflowWrap === "anywhere") cutAnywhere.push(label(el));
      if (style.display === "none" || el.clientWidth === 0) continue;
      if (["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName)) continue; // scroll inside by nature
      const clipped = style.overflowX === "hidden" || style.overflowX === "clip";
      const deliberate =
        style.overflowX === "auto" ||
        style.overflowX === "scroll" ||
        // An ellipsis, or text only for screen readers (the 1 px .sr-only box).
        (clipped && (style.textOverflow === "ellipsis" || el.clientWidth <= 1));
      // 1 px of rounding is not an overflow.
      if (!deliberate && el.scrollWidth > el.clientWidth + 1) overflowing.push(label(el));
    }
    const root = document.documentElement;
    return { overflowing, cutAnywhere, pageScrollsSideways: root.scrollWidth > root.clientWidth + 1 };
  });
}

// Two sizes, axe twice and full-page screenshots per test: room for a busy machine.
test.describe.configure({ timeout: 180_000 });

let slug = "";
let admin: { email: string; password: string } | null = null;

test.beforeAll(async () => {
  // A tenant with entries that make warnings (long lines) and a long origin to lay out.
  slug = await makeTenant([
    "https://app.example.com",
    "https://*.example.com",
    "https://a.example.com",
    "http://legacy-service-with-a-long-name.internal.example.org",
  ]);
  admin = await makeUser("admin");
  await seedAlerts(slug);
});

/**
 * What the Alerts page lists, with long text to lay out: a webhook with a long URL
 * (disabled: it is never sent to), an enabled and a disabled rule, an open and a resolved
 * alert with long summaries, and a delivery that failed after every attempt.
 */
async function seedAlerts(tenant: string): Promise<void> {
  const [webhook] = await sql<{ id: string }>(
    `insert into alert_webhook (id, name, url, secret, enabled, created_by)
     values (gen_random_uuid(), $1, $2, 'not-a-real-secret', false, 'e2e') returning id`,
    [unique("pager-duty-escalation"), "http://127.0.0.1:9/hooks/origingate/escalation-policy-with-a-long-name/T0001"],
  );
  const [rule] = await sql<{ id: string }>(
    `insert into alert_rule (id, name, kind, tenant, params, webhook_ids, enabled, created_by)
     values (gen_random_uuid(), $1, 'rollout_guard_tripped', $2, '{}', array[$3::uuid], true, 'e2e') returning id`,
    [unique("checkout rollout guard"), tenant, webhook!.id],
  );
  await sql(
    `insert into alert_rule (id, name, kind, tenant, params, webhook_ids, enabled, created_by)
     values (gen_random_uuid(), $1, 'new_rejected_origin', $2, $3, '{}', false, 'e2e')`,
    [unique("new origins"), tenant, JSON.stringify({ windowMinutes: 15, baselineDays: 7, minCount: 1 })],
  );
  const origin = "https://checkout-payments-service.attacker-controlled-lookalike.example.net";
  const [open] = await sql<{ id: string }>(
    `insert into alert (rule_id, rule_name, kind, tenant, key, summary, details)
     values ($1, 'checkout rollout guard', 'rollout_guard_tripped', $2, $3, $4, '{}') returning id::text as id`,
    [
      rule!.id,
      tenant,
      unique("rollout"),
      `The staged rollout of version 7 of ${tenant} was aborted: refusals of ${origin} rose from 0.2% to 38.5% on the canary`,
    ],
  );
  await sql(
    `insert into alert (rule_id, rule_name, kind, tenant, key, summary, details, resolved_at)
     values (gen_random_uuid(), 'new origins', 'new_rejected_origin', $1, $2, $3, '{}', now())`,
    [
      tenant,
      `origin:${tenant}:${origin}`,
      `${origin} newly refused for ${tenant}: 12 time(s) in the last 15 min, never in the 7 days before (origin_not_allowed)`,
    ],
  );
  const error = "connect ECONNREFUSED 127.0.0.1:9";
  const log = Array.from({ length: 8 }, (_, i) => ({
    at: new Date(Date.now() - (8 - i) * 60_000).toISOString(),
    status: null,
    error,
  }));
  await sql(
    `insert into alert_delivery (webhook_id, alert_id, event, payload, status, attempts, last_attempt_at, error, log)
     values ($1, $2, 'firing', '{}', 'failed', 8, now(), $3, $4)`,
    [webhook!.id, open!.id, error, JSON.stringify(log)],
  );
}

for (const pageCase of PAGES) {
  test(`${pageCase.name}: no serious accessibility violation, nothing spills sideways`, async ({ page }) => {
    if (pageCase.signedIn && admin) await signInUI(page, admin);
    for (const size of SIZES) {
      await page.setViewportSize({ width: size.width, height: size.height });
      await page.goto(pageCase.path(slug));
      await pageCase.ready(page);
      await page.screenshot({
        path: path.join(OUT, `${pageCase.name}-${size.width}x${size.height}.png`),
        fullPage: true,
      });

      const axe = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
      const serious = axe.violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
      expect(serious, `${pageCase.name} at ${size.name}`).toEqual([]);

      const layout = await layoutProblems(page);
      expect(layout.cutAnywhere, `${pageCase.name} at ${size.name}: text cut anywhere`).toEqual([]);
      expect(layout.overflowing, `${pageCase.name} at ${size.name}: content wider than its box`).toEqual([]);
      expect(layout.pageScrollsSideways, `${pageCase.name} at ${size.name}: the page scrolls sideways`).toBe(false);
      if (size.name === "desktop") {
        for (const table of pageCase.fitAtDesktop ?? []) {
          const widths = await page.getByRole("table", { name: table, exact: true }).evaluate((el) => {
            const wrap = el.closest(".table-wrap") ?? el;
            return { content: wrap.scrollWidth, box: wrap.clientWidth };
          });
          expect(widths.content, `${pageCase.name} at ${size.name}: "${table}" scrolls sideways`).toBeLessThanOrEqual(
            widths.box + 1,
          );
        }
      }
    }
  });
}
