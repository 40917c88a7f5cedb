/**
 * The audit explorer end to end (Chromium → `next start` → Postgres): time presets and
 * filters change the URL and the results, a reload keeps them, facet counts (folded events
 * weighted) filter on click, a click on a chart bar narrows to that bucket and reason, column
 * sorting, "N events shown" counting folded events, and a saved view's round trip.
 *
 * Each test seeds its own events under a fresh tenant slug and opens /audit?tenant=<slug>, so
 * other tests' events never show.
 */
import type { Page } from "@playwright/test";
import WebSocket from "ws";
import { expect, makeTenant, makeUser, signInUI, sql, test, unique } from "./support";

// Several page loads per test on two shared cores.
test.describe.configure({ timeout: 120_000 });

const MIN = 60_000;

/** One real handshake against the tenant endpoint of the e2e gateway: 101 or the refusal's status. */
function handshakeStatus(slug: string, origin: string): Promise<number> {
  const url = process.env.E2E_GATEWAY_URL;
  if (!url) throw new Error("E2E_GATEWAY_URL missing: run through `npx playwright test` (global setup)");
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/t/${slug}/feed`, { headers: { Origin: origin }, perMessageDeflate: false });
    ws.once("open", () => {
      ws.close();
      resolve(101);
    });
    ws.once("unexpected-response", (_request, response) => {
      response.resume();
      ws.terminate();
      resolve(response.statusCode ?? 0);
    });
    ws.once("error", (error) => {
      if (ws.readyState !== WebSocket.CLOSED) reject(error);
    });
  });
}

interface Seed {
  ago: number;
  reason?: string;
  decision?: string;
  origin?: string;
  remoteAddr?: string;
  userAgent?: string;
  count?: number;
}

async function seed(tenant: string, events: Seed[]): Promise<void> {
  for (const e of events) {
    await sql(
      `insert into audit_event (ts, gateway_id, kind, tenant, decision, reason, origin, origin_normalized, remote_addr,
              user_agent, path, count, policy_version)
       values ($1, 'gw-e2e', 'handshake', $2, $3::audit_decision, $4, $5, $5, $6, $7, '/t/app/feed', $8, 1)`,
      [
        new Date(Date.now() - e.ago),
        tenant,
        e.decision ?? "rejected",
        e.reason ?? "origin_not_allowed",
        e.origin ?? "https://evil.example",
        e.remoteAddr ?? "203.0.113.7",
        e.userAgent ?? "Mozilla/5.0 Firefox",
        e.count ?? 1,
      ],
    );
  }
}

function history(page: Page) {
  return page.getByRole("region", { name: "History" });
}

function historyRows(page: Page) {
  return history(page).getByRole("table", { name: "History" }).locator("tbody tr");
}

async function openExplorer(page: Page, query: string): Promise<void> {
  await signInUI(page, await makeUser("viewer"));
  await page.goto(`/audit?${query}`);
  await expect(history(page).getByTestId("reason-chart")).toBeVisible();
}

test("presets and filters change the URL and the results; a reload keeps them", async ({ page }) => {
  const tenant = unique("ex");
  await seed(tenant, [
    { ago: 3 * 60 * MIN, origin: "https://old.example" },
    { ago: 5 * MIN, origin: "https://curl.example", remoteAddr: "198.51.100.23", userAgent: "curl/8.5.0" },
    { ago: 4 * MIN, origin: "https://browser.example", remoteAddr: "192.0.2.44" },
  ]);
  await openExplorer(page, `tenant=${tenant}`);
  // The default range is the last 24 hours: all three.
  await expect(historyRows(page)).toHaveCount(3);
  await history(page).getByRole("button", { name: "Last hour" }).click();
  await expect(page).toHaveURL(/range=1h/);
  await expect(historyRows(page)).toHaveCount(2);
  await expect(history(page).getByRole("table", { name: "History" })).not.toContainText("https://old.example");

  await history(page).getByRole("textbox", { name: "Client address" }).fill("198.51.100.23");
  await history(page).getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/remoteAddr=198\.51\.100\.23/);
  await expect(historyRows(page)).toHaveCount(1);
  await expect(historyRows(page).first()).toContainText("https://curl.example");

  await history(page).getByRole("textbox", { name: "Client address" }).fill("");
  await history(page).getByRole("textbox", { name: "User agent" }).fill("CURL");
  await history(page).getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/userAgent=CURL/);
  await expect(page).not.toHaveURL(/remoteAddr=/);
  await expect(historyRows(page)).toHaveCount(1);

  await history(page).getByRole("textbox", { name: "User agent" }).fill("");
  await history(page).getByRole("combobox", { name: "Origin match" }).selectOption("originContains");
  await history(page).getByRole("textbox", { name: "Origin" }).fill("BROWSER");
  await history(page).getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/originContains=BROWSER/);
  await expect(historyRows(page)).toHaveCount(1);
  await expect(historyRows(page).first()).toContainText("https://browser.example");

  await page.reload();
  await expect(history(page).getByRole("button", { name: "Last hour" })).toHaveAttribute("aria-pressed", "true");
  await expect(history(page).getByRole("combobox", { name: "Origin match" })).toHaveValue("originContains");
  await expect(history(page).getByRole("textbox", { name: "Origin" })).toHaveValue("BROWSER");
  await expect(historyRows(page)).toHaveCount(1);

  // Back returns to the search before.
  await page.goBack();
  await expect(page).toHaveURL(/userAgent=CURL/);
  await expect(history(page).getByRole("textbox", { name: "User agent" })).toHaveValue("CURL");
  await expect(historyRows(page)).toHaveCount(1);
  await expect(historyRows(page).first()).toContainText("https://curl.example");
});

test("facet counts weigh folded events, and a click on a value filters by it", async ({ page }) => {
  const tenant = unique("ex");
  await seed(tenant, [
    { ago: 2 * MIN, reason: "origin_not_allowed", remoteAddr: "192.0.2.1", count: 9 },
    { ago: 3 * MIN, reason: "credentials_forbidden", remoteAddr: "192.0.2.2", count: 3 },
    { ago: 4 * MIN, decision: "accepted", reason: "allowed", remoteAddr: "192.0.2.1" },
  ]);
  await openExplorer(page, `tenant=${tenant}&range=1h`);
  const facets = page.getByRole("complementary", { name: "Facets" });
  await expect(facets.getByTestId("facet-scope")).toHaveText("13 matching events");
  const decision = facets.getByRole("region", { name: "Decision facet" });
  await expect(decision.getByRole("button", { name: /rejected\s*12/ })).toBeVisible();
  await expect(decision.getByRole("button", { name: /accepted\s*1/ })).toBeVisible();
  const reason = facets.getByRole("region", { name: "Reason facet" });
  await expect(reason.getByRole("button", { name: /origin_not_allowed\s*9/ })).toBeVisible();
  await expect(
    facets.getByRole("region", { name: "Client address facet" }).getByRole("button", { name: /192\.0\.2\.1\s*10/ }),
  ).toBeVisible();

  await decision.getByRole("button", { name: /rejected\s*12/ }).click();
  await expect(page).toHaveURL(/decision=rejected/);
  await expect(historyRows(page)).toHaveCount(2);
  // The decision facet keeps the other value visible; the others now count refusals only.
  await expect(decision.getByRole("button", { name: /rejected\s*12/ })).toHaveAttribute("aria-pressed", "true");
  await expect(decision.getByRole("button", { name: /accepted\s*1/ })).toBeVisible();
  await expect(
    facets.getByRole("region", { name: "Client address facet" }).getByRole("button", { name: /192\.0\.2\.1\s*9/ }),
  ).toBeVisible();
  // "N events shown" counts what the folded rows stand for.
  await expect(history(page).getByTestId("history-count")).toContainText("12 events shown in 2 rows");
});

test("a click on a chart bar narrows to that bucket and reason; tooltips show the counts", async ({ page }) => {
  const tenant = unique("ex");
  await seed(tenant, [
    { ago: 20 * MIN, reason: "credentials_forbidden", count: 4, origin: "https://cookie.example" },
    { ago: 20 * MIN, reason: "origin_not_allowed", count: 2 },
    { ago: 2 * MIN, reason: "origin_not_allowed" },
  ]);
  await openExplorer(page, `tenant=${tenant}&range=1h`);
  const chart = history(page).getByTestId("reason-chart");
  const bar = chart.locator('rect[data-series="credentials_forbidden"]');
  await expect(bar).toHaveCount(1);
  await bar.hover();
  await expect(chart.getByTestId("chart-tooltip")).toContainText("credentials_forbidden 4");
  await expect(chart.getByTestId("chart-tooltip")).toContainText("origin_not_allowed 2");
  await bar.click();
  await expect(page).toHaveURL(/reason=credentials_forbidden/);
  await expect(page).toHaveURL(/since=.*until=/);
  await expect(page).not.toHaveURL(/range=/);
  await expect(historyRows(page)).toHaveCount(1);
  await expect(historyRows(page).first()).toContainText("https://cookie.example");
});

test("columns sort through the URL, and the header says how", async ({ page }) => {
  const tenant = unique("ex");
  await seed(tenant, [
    { ago: 2 * MIN, origin: "https://b.example", count: 1 },
    { ago: 3 * MIN, origin: "https://a.example", count: 7 },
    { ago: 4 * MIN, origin: "https://c.example", count: 3 },
  ]);
  await openExplorer(page, `tenant=${tenant}&range=4h`);
  await expect(historyRows(page).first()).toContainText("https://b.example");
  await history(page)
    .getByRole("button", { name: /^Count/ })
    .click();
  await expect(page).toHaveURL(/sort=-count/);
  await expect(historyRows(page).first()).toContainText("https://a.example");
  await expect(history(page).getByRole("columnheader", { name: /Count/ })).toHaveAttribute("aria-sort", "descending");
  await history(page)
    .getByRole("button", { name: /^Origin/ })
    .click();
  await expect(page).toHaveURL(/sort=-origin/);
  await expect(historyRows(page).first()).toContainText("https://c.example");
  await history(page)
    .getByRole("button", { name: /^Origin/ })
    .click();
  await expect(page).toHaveURL(/sort=origin/);
  await expect(historyRows(page).first()).toContainText("https://a.example");
});

test("a saved view comes back as it was saved", async ({ page }) => {
  const tenant = unique("ex");
  await seed(tenant, [
    { ago: 2 * MIN, origin: "https://b.example", count: 1 },
    { ago: 3 * MIN, origin: "https://a.example", count: 7 },
    { ago: 4 * MIN, origin: "https://c.example", count: 3 },
  ]);
  await openExplorer(page, `tenant=${tenant}&range=4h&sort=origin`);
  await expect(historyRows(page).first()).toContainText("https://a.example");
  const name = unique("view");
  await history(page).getByRole("textbox", { name: "View name" }).fill(name);
  await history(page).getByRole("button", { name: "Save view" }).click();
  await expect(history(page).getByRole("combobox", { name: "Saved view" })).toContainText(name);

  // Somewhere else, then back through the saved view.
  await history(page).getByRole("button", { name: "Last 15 minutes" }).click();
  await expect(page).toHaveURL(/range=15m/);
  await page.goto("/audit");
  await history(page).getByRole("combobox", { name: "Saved view" }).selectOption({ label: name });
  await expect(page).toHaveURL(new RegExp(`tenant=${tenant}.*range=4h.*sort=origin`));
  await expect(historyRows(page)).toHaveCount(3);
  await expect(historyRows(page).first()).toContainText("https://a.example");
  await page.reload();
  await expect(historyRows(page).first()).toContainText("https://a.example");
});

test("history, facets and the chart follow the live feed while the range ends now", async ({ page }) => {
  const slug = await makeTenant(["https://app.example.com"]);
  await expect.poll(() => handshakeStatus(slug, "https://app.example.com"), { timeout: 15_000 }).toBe(101);
  await openExplorer(page, `tenant=${slug}&range=15m&decision=rejected`);
  await expect(page.getByRole("region", { name: "Live feed" }).getByTestId("feed-status")).toHaveText("live");
  await expect(history(page).getByText("No events match these filters")).toBeVisible();

  const origin = `https://${unique("live")}.example.org`;
  expect(await handshakeStatus(slug, origin)).toBe(403);
  // No reload, no search: the explorer refreshes as the feed receives the event.
  await expect(historyRows(page).filter({ hasText: origin })).toHaveCount(1, { timeout: 20_000 });
  await expect(page.getByRole("complementary", { name: "Facets" }).getByTestId("facet-scope")).toHaveText(
    "1 matching event",
  );
  await expect(history(page).getByTestId("reason-chart").locator('rect[data-series="origin_not_allowed"]')).toHaveCount(
    1,
  );
});
