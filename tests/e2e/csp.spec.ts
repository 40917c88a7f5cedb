/**
 * The dashboard's Content-Security-Policy in Chromium: every page carries it with a fresh
 * nonce, the main pages (sign-in, tenants and a tenant's tabs, audit with its live feed to
 * the gateway, gateways, tester, users, tokens) work under it with no violation reported,
 * and markup injected into a page cannot run script.
 */
import type { Page } from "@playwright/test";
import { expect, makeTenant, makeUser, signInUI, test } from "./support";

/** Collects the CSP violations every document of the page reports, across navigations. */
async function watchViolations(page: Page): Promise<() => Promise<string[]>> {
  const seen: string[] = [];
  await page.exposeBinding("__reportCsp", (_source, violation: string) => {
    seen.push(violation);
  });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) =>
      (window as unknown as { __reportCsp: (v: string) => void }).__reportCsp(
        `${event.effectiveDirective} ${event.blockedURI} on ${location.pathname} (${event.sourceFile}:${event.lineNumber})`,
      ),
    );
  });
  return async () => [...seen];
}

function scriptSrc(csp: string): string {
  return csp.split(";").find((d) => d.trim().startsWith("script-src")) ?? "";
}

test("every page carries a nonce-based policy; a fresh nonce each time", async ({ request }) => {
  const first = await request.get("/login");
  const second = await request.get("/login");
  const a = first.headers()["content-security-policy"] ?? "";
  const b = second.headers()["content-security-policy"] ?? "";
  expect(scriptSrc(a)).toMatch(/'nonce-[A-Za-z0-9+/=]{16,}' 'strict-dynamic'/);
  expect(scriptSrc(a)).not.toContain("unsafe-inline");
  expect(scriptSrc(a)).not.toContain("unsafe-eval");
  expect(a).toContain("frame-ancestors 'none'");
  expect(a).toContain("object-src 'none'");
  expect(a).not.toBe(b);
  // The nonce is on Next's own scripts in the page.
  const nonce = /'nonce-([^']+)'/.exec(a)?.[1];
  expect(await first.text()).toContain(`nonce="${nonce}"`);
  // A redirect to sign-in carries it too.
  const redirect = await request.get("/tenants", { maxRedirects: 0 });
  expect(redirect.status()).toBe(307);
  expect(redirect.headers()["content-security-policy"]).toContain("script-src");
});

test("the main pages work under the policy with no violation", async ({ page }) => {
  const violations = await watchViolations(page);
  const slug = await makeTenant(["https://app.example.com"]);
  await page.goto("/login");
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
  await signInUI(page, await makeUser("admin"));
  await expect(page.getByRole("heading", { name: "Tenants" })).toBeVisible();

  await page.goto(`/tenants/${slug}`);
  await expect(page.getByRole("cell", { name: "https://app.example.com", exact: true })).toBeVisible();
  for (const tab of ["Credential policy", "History", "Settings"]) {
    await page.getByRole("tab", { name: tab }).click();
  }
  await page.goto("/audit");
  // The live feed is a WebSocket to the gateway (connect-src): it must get to "live".
  await expect(page.getByTestId("feed-status")).toHaveText("live", { timeout: 20_000 });
  for (const [path, heading] of [
    ["/gateways", "Gateways"],
    ["/tester", "Handshake tester"],
    ["/users", "Users"],
    ["/tokens", "API tokens"],
  ] as const) {
    await page.goto(path);
    await expect(page.getByRole("heading", { name: heading, exact: true })).toBeVisible();
  }
  expect(await violations()).toEqual([]);
});

test("markup injected into a page cannot run script", async ({ page }) => {
  const violations = await watchViolations(page);
  await signInUI(page, await makeUser("viewer"));
  await page.evaluate(() => {
    document.body.insertAdjacentHTML(
      "beforeend",
      `<img id="xss" src="/does-not-exist.png" onerror="window.__pwned = 'handler'">` +
        `<iframe srcdoc="<script>parent.__pwned = 'srcdoc'</script>"></iframe>` +
        `<a id="js" href="javascript:window.__pwned='href'">x</a>`,
    );
  });
  await page.locator("#js").click();
  await expect.poll(async () => (await violations()).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned)).toBeUndefined();
  expect((await violations()).join("\n")).toMatch(/script-src/);
});
