/**
 * The tester's polish (issue 16): a run's answer is brought into view (it lands below the
 * form, off screen on a short window); the cookie preset comes from the tenant's own allowed
 * origin, so it shows the credential policy at work (credentials_forbidden); a scan's
 * variants are grouped by the allowlist entry they probe.
 */
import type { APIRequestContext } from "@playwright/test";
import { expect, makeTenant, makeUser, signedInContext, signInUI, test } from "./support";

/** Waits until the gateway has loaded the new tenant (it follows Postgres within milliseconds). */
async function gatewayKnows(api: APIRequestContext, tenant: string): Promise<void> {
  await expect
    .poll(async () => (await api.post("/api/v1/tester/handshake", { data: { tenant, origin: null } })).status(), {
      timeout: 15_000,
    })
    .toBe(200);
}

test("the result is scrolled to and focused; the cookie preset shows credentials_forbidden", async ({ page }) => {
  const editor = await makeUser("editor");
  const slug = await makeTenant(["https://own.example.com"]);
  await gatewayKnows(await signedInContext(editor), slug);
  await page.setViewportSize({ width: 1280, height: 500 });
  await signInUI(page, editor);
  await page.goto(`/tester?tenant=${slug}`);
  await expect(page.getByRole("textbox", { name: "Origin" })).toHaveValue("https://own.example.com");
  // Where the answer will appear is below the fold before the run.
  await expect(page.getByText("No handshake yet")).not.toBeInViewport();

  await page.getByRole("button", { name: "Browser on an allowed origin" }).click();
  // Enter in the Origin field (a click on "Run handshake" would scroll the page by itself).
  await page.getByRole("textbox", { name: "Origin" }).press("Enter");
  const result = page.getByTestId("handshake-result");
  await expect(result.getByTestId("status-line")).toHaveText("HTTP/1.1 101 Switching Protocols");
  await expect(result.getByRole("heading", { name: "Result" })).toBeInViewport();
  // Scrolled to the top of the window, not merely peeking in at the bottom.
  await expect.poll(() => result.evaluate((el) => el.getBoundingClientRect().top)).toBeLessThan(60);
  await expect(page.getByTestId("run-outcome")).toBeFocused();

  // The cookie preset, from the top of the page: its answer is scrolled to as well, and the
  // credential policy (forbid) is what refuses it, its origin being allowed.
  await page.evaluate(() => window.scrollTo(0, 0));
  await expect(result.getByRole("heading", { name: "Result" })).not.toBeInViewport();
  await page.getByRole("button", { name: "Cookie-bearing request from an allowed origin" }).click();
  await expect(page.getByRole("textbox", { name: "Origin" })).toHaveValue("https://own.example.com");
  await page.getByRole("textbox", { name: "Origin" }).press("Enter");
  await expect(result.getByTestId("status-line")).toHaveText("HTTP/1.1 403 Forbidden");
  await expect(result.getByRole("heading", { name: "Result" })).toBeInViewport();
  const trace = result.getByTestId("decision-trace");
  await expect(trace).toContainText("credentials_forbidden");
  await expect(trace).toContainText("matched https://own.example.com");
  await expect(trace.getByRole("listitem").filter({ hasText: /^credentials/ })).toContainText("fail");
});

test("scan results are grouped by the allowlist entry each variant probes", async ({ page }) => {
  const editor = await makeUser("editor");
  const slug = await makeTenant(["https://app.example.com", "https://*.partner.example.org"]);
  await gatewayKnows(await signedInContext(editor), slug);
  await signInUI(page, editor);
  await page.goto(`/tester?tenant=${slug}`);
  await page.getByRole("tab", { name: "Bypass scan" }).click();
  await page.getByRole("button", { name: "Run scan" }).click();
  const scan = page.getByTestId("scan-results");
  await expect(scan.getByTestId("findings-count")).toHaveText("0", { timeout: 30_000 });
  await expect(scan).toBeInViewport({ ratio: 0.1 });
  const table = scan.getByRole("table", { name: "Scan results" });
  const heads = table.getByRole("rowheader");
  await expect(heads).toHaveCount(3);
  // In the allowlist's order (entries saved together are stored by pattern: * before a).
  await expect(heads.nth(0)).toContainText("Entry https://*.partner.example.org");
  await expect(heads.nth(1)).toContainText("Entry https://app.example.com");
  await expect(heads.nth(2)).toContainText("Not tied to an allowlist entry");
  // Each group holds the variants of its entry: a lookalike of app.example.com under the first.
  const first = table.getByRole("rowgroup", { name: "https://app.example.com" });
  await expect(first).toContainText("http://app.example.com");
  await expect(first).not.toContainText("partner.example.org");
  const second = table.getByRole("rowgroup", { name: "https://*.partner.example.org" });
  await expect(second).toContainText("partner.example.org");
  await expect(table.getByRole("rowgroup", { name: "Not tied to an entry" })).toContainText("no Origin header");
});
