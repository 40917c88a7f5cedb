import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Page } from "@playwright/test";
import { createTenant } from "../helpers/fixtures";
import { startUpstream, type Upstream } from "../helpers/upstreams";
import { baseURL, databaseUrl, expect, makeTenant, makeUser, policyVersion, signInUI, test } from "./support";

// The credential-policy tab's editors that no other spec drives (issues 13 and 11): the
// "CORS for HTTP and SSE" section (SPEC §4.6) — an edit saved in the dashboard is what the
// API returns and what the real gateway answers a browser's preflight with; an invalid value
// shows validatePolicy's message and saves nothing — and the per-address connection share
// (`limits.maxConnectionsPerIp`, SPEC §5).

let upstream: Upstream;
let pages: http.Server;
/** The page's origin: http://localhost:<port>, cross-origin to the gateway on another port. */
let pageOrigin: string;
let gatewayHttp: string;

test.beforeAll(async () => {
  upstream = await startUpstream();
  pages = http.createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>cors page</title><p>test page</p>");
  });
  await new Promise<void>((resolve) => pages.listen(0, "127.0.0.1", resolve));
  pageOrigin = `http://localhost:${(pages.address() as AddressInfo).port}`;
  gatewayHttp = `http://localhost:${new URL(process.env.E2E_GATEWAY_URL!).port}`;
});

test.afterAll(async () => {
  await upstream?.close();
  pages?.close();
});

/** A tenant proxied to the upstream, allowing the page's origin, with the default CORS section. */
async function corsTenant(): Promise<string> {
  const { slug } = await createTenant(databaseUrl(), {
    upstreamUrl: upstream.wsUrl,
    policy: { origins: [pageOrigin] },
  });
  // The gateway picks the tenant up through NOTIFY; wait until it answers for it.
  await expect
    .poll(async () => (await fetch(`${gatewayHttp}/t/${slug}/ready`, { headers: { Origin: pageOrigin } })).status, {
      timeout: 15_000,
    })
    .toBe(200);
  return slug;
}

/** A preflight sent straight to the gateway: status, reason and the CORS headers. */
async function preflight(slug: string, method: string, headers: string) {
  const res = await fetch(`${gatewayHttp}/t/${slug}/preflight`, {
    method: "OPTIONS",
    headers: {
      Origin: pageOrigin,
      "Access-Control-Request-Method": method,
      ...(headers ? { "Access-Control-Request-Headers": headers } : {}),
    },
  });
  return {
    status: res.status,
    reason: res.headers.get("x-origingate-reason"),
    allowOrigin: res.headers.get("access-control-allow-origin"),
    allowMethods: res.headers.get("access-control-allow-methods"),
    allowHeaders: res.headers.get("access-control-allow-headers"),
    maxAge: res.headers.get("access-control-max-age"),
  };
}

/** A cross-origin PUT with a custom header from the page (Chromium preflights it first). */
function pagePut(page: Page, url: string) {
  return page.evaluate(async (url) => {
    try {
      const res = await fetch(url, { method: "PUT", headers: { "X-Trace-Id": "t-1" }, body: "x" });
      return { ok: true as const, status: res.status };
    } catch (error) {
      return { ok: false as const, error: String(error) };
    }
  }, url);
}

async function openCredentialTab(page: Page, slug: string) {
  await signInUI(page, await makeUser("editor"));
  await page.goto(`/tenants/${slug}`);
  await page.getByRole("tab", { name: "Credential policy" }).click();
}

test.describe("CORS for HTTP and SSE (the credential-policy tab)", () => {
  test("an edit is saved, returned by the API and answered by the gateway's preflight in Chromium", async ({
    page,
    browser,
  }) => {
    // The page on the allowed origin lives in its own context: the dashboard's page carries an
    // extra X-Forwarded-For (signInUI), which Chromium would list in the preflight's headers.
    const visitorContext = await browser.newContext();
    const visitor = await visitorContext.newPage();
    const slug = await corsTenant();
    // Before the edit: the default section (GET, HEAD, POST; no headers) refuses a PUT.
    expect(await preflight(slug, "PUT", "x-trace-id")).toMatchObject({
      status: 403,
      reason: "cors_method_not_allowed",
    });
    await visitor.goto(pageOrigin);
    const refused = await pagePut(visitor, `${gatewayHttp}/t/${slug}/put`);
    expect(refused.ok, JSON.stringify(refused)).toBe(false);
    expect(upstream.count("/put")).toBe(0);

    await openCredentialTab(page, slug);
    const section = page.getByRole("group", { name: /CORS for HTTP and SSE/ });
    await expect(section.getByRole("list", { name: "Allowed methods" })).toContainText("GET");
    await expect(section.getByRole("spinbutton", { name: /Preflight cache \(seconds\)/ })).toHaveValue("600");
    await section.getByLabel("Add to allowed methods").fill("PUT");
    await section.getByLabel("Add to allowed methods").press("Enter");
    await section.getByLabel("Add to allowed request headers").fill("X-Trace-Id");
    await section.getByLabel("Add to allowed request headers").press("Enter");
    await section.getByLabel("Add to exposed response headers").fill("X-Total");
    await section.getByLabel("Add to exposed response headers").press("Enter");
    await section.getByRole("spinbutton", { name: /Preflight cache \(seconds\)/ }).fill("120");
    await expect(section.getByText("changed", { exact: true })).toBeVisible();
    await page.getByRole("textbox", { name: "Comment", exact: true }).fill("cors for the PUT client");
    await page.getByRole("button", { name: "Save as v2" }).click();
    await expect(page.getByTestId("policy-version")).toHaveText("v2");
    await expect(page.getByText("Saved version 2")).toBeVisible();

    // The API returns the saved section, in its stored form (header names in lower case).
    const policy = await (await page.request.get(`/api/v1/tenants/${slug}/policy`)).json();
    expect(policy.version).toBe(2);
    expect(policy.cors).toEqual({
      methods: ["GET", "HEAD", "POST", "PUT"],
      allowHeaders: ["x-trace-id"],
      exposeHeaders: ["x-total"],
      maxAgeSeconds: 120,
    });

    // The gateway answers preflights per the new section (it reloads through NOTIFY: wait for it).
    await expect.poll(async () => (await preflight(slug, "PUT", "x-trace-id")).status, { timeout: 15_000 }).toBe(204);
    const granted = await preflight(slug, "PUT", "x-trace-id");
    expect(granted.allowOrigin).toBe(pageOrigin);
    expect(granted.allowMethods?.split(/,\s*/)).toEqual(["GET", "HEAD", "POST", "PUT"]);
    expect(granted.allowHeaders).toBe("x-trace-id");
    expect(granted.maxAge).toBe("120");
    expect(await preflight(slug, "PUT", "x-trace-id, x-other")).toMatchObject({
      status: 403,
      reason: "cors_header_not_allowed",
    });
    expect(await preflight(slug, "DELETE", "")).toMatchObject({ status: 403, reason: "cors_method_not_allowed" });
    const actual = await fetch(`${gatewayHttp}/t/${slug}/get`, { headers: { Origin: pageOrigin } });
    expect(actual.status).toBe(200);
    expect(actual.headers.get("access-control-expose-headers")).toBe("x-total");

    // And in the browser: the preflighted PUT now goes through.
    const passed = await pagePut(visitor, `${gatewayHttp}/t/${slug}/put`);
    expect(passed, JSON.stringify(passed)).toMatchObject({ ok: true, status: 200 });
    expect(upstream.seen.filter((r) => r.url.endsWith("/put")).map((r) => r.method)).toEqual(["PUT"]);
    expect(upstream.seen.filter((r) => r.method === "OPTIONS")).toEqual([]);
    await visitorContext.close();
  });

  test("an invalid value shows its validation error, cannot be saved, and nothing changes", async ({ page }) => {
    const slug = await corsTenant();
    await openCredentialTab(page, slug);
    const section = page.getByRole("group", { name: /CORS for HTTP and SSE/ });
    const save = page.getByRole("button", { name: "Save as v2" });

    await section.getByLabel("Add to allowed methods").fill("TRACE");
    await section.getByLabel("Add to allowed methods").press("Enter");
    await expect(section.getByRole("alert")).toHaveText(/TRACE is a forbidden method/);
    await expect(save).toBeDisabled();

    await section.getByLabel("Add to allowed request headers").fill("Cookie");
    await section.getByLabel("Add to allowed request headers").press("Enter");
    await section.getByLabel("Add to exposed response headers").fill("Set-Cookie");
    await section.getByLabel("Add to exposed response headers").press("Enter");
    await section.getByRole("spinbutton", { name: /Preflight cache \(seconds\)/ }).fill("86401");
    const alerts = section.getByRole("alert");
    await expect(alerts).toHaveCount(4);
    await expect(alerts.filter({ hasText: "Cookie is a forbidden request header" })).toHaveCount(1);
    await expect(alerts.filter({ hasText: "Set-Cookie is never exposed to pages by browsers" })).toHaveCount(1);
    await expect(alerts.filter({ hasText: "must be at most 86400 (got 86401)" })).toHaveCount(1);
    await expect(page.getByText("4 errors")).toBeVisible();
    await expect(save).toBeDisabled();

    // The server refuses the same document (the disabled button is not the only guard).
    const draft = {
      origins: [{ pattern: pageOrigin }],
      cors: {
        methods: ["GET", "TRACE"],
        allowHeaders: ["cookie"],
        exposeHeaders: ["set-cookie"],
        maxAgeSeconds: 86401,
      },
    };
    const put = await page.request.put(`/api/v1/tenants/${slug}/policy`, {
      headers: { Origin: baseURL(), "If-Match": '"1"' },
      data: draft,
    });
    expect(put.status()).toBe(422);
    const details = (await put.json()).error.details as Array<{ path: string }>;
    expect(details.map((d) => d.path).sort()).toEqual([
      "cors.allowHeaders[0]",
      "cors.exposeHeaders[0]",
      "cors.maxAgeSeconds",
      "cors.methods[1]",
    ]);

    // Removing the bad entries and fixing the number clears every error; nothing was saved meanwhile.
    await section.getByRole("button", { name: "Remove TRACE from Allowed methods" }).click();
    await section.getByRole("button", { name: "Remove Cookie from Allowed request headers" }).click();
    await section.getByRole("button", { name: "Remove Set-Cookie from Exposed response headers" }).click();
    await section.getByRole("spinbutton", { name: /Preflight cache \(seconds\)/ }).fill("86400");
    await expect(section.getByRole("alert")).toHaveCount(0);
    await expect(save).toBeEnabled();
    expect(await policyVersion(slug)).toBe(1);
    const policy = await (await page.request.get(`/api/v1/tenants/${slug}/policy`)).json();
    expect(policy.cors).toEqual({
      methods: ["GET", "HEAD", "POST"],
      allowHeaders: [],
      exposeHeaders: [],
      maxAgeSeconds: 600,
    });
    expect(await preflight(slug, "TRACE", "")).toMatchObject({ status: 403, reason: "cors_method_not_allowed" });
  });
});

test.describe("Concurrent connections per client address (limits.maxConnectionsPerIp)", () => {
  test("the editor shows it with its range, saves an edit, and refuses a bad value", async ({ page }) => {
    const slug = await makeTenant(["https://app.example.com"]);
    await openCredentialTab(page, slug);
    const field = page.getByRole("spinbutton", { name: /^Concurrent connections per client address/ });
    await expect(field).toHaveValue("100"); // the default (SPEC §5)
    await expect(page.getByText(/one address cannot hold every slot.*Range 1–1,000,000\./)).toBeVisible();
    const save = page.getByRole("button", { name: "Save as v2" });
    const fieldError = page.locator("label.field", { has: field }).getByRole("alert");

    for (const [value, message] of [
      ["0", "must be from 1 to 1000000 (got 0)"],
      ["1000001", "must be from 1 to 1000000 (got 1000001)"],
      ["2.5", "must be an integer (got 2.5)"],
    ] as const) {
      await field.fill(value);
      await expect(fieldError).toHaveText(message);
      await expect(save).toBeDisabled();
    }
    // The API refuses a bad value too, naming the field; nothing is saved.
    const put = await page.request.put(`/api/v1/tenants/${slug}/policy`, {
      headers: { Origin: baseURL(), "If-Match": '"1"' },
      data: { origins: [{ pattern: "https://app.example.com" }], limits: { maxConnectionsPerIp: 0 } },
    });
    expect(put.status()).toBe(422);
    expect((await put.json()).error.details).toEqual([
      expect.objectContaining({ path: "limits.maxConnectionsPerIp", message: "must be from 1 to 1000000 (got 0)" }),
    ]);
    expect(await policyVersion(slug)).toBe(1);

    await field.fill("7");
    await expect(fieldError).toHaveCount(0);
    await save.click();
    await expect(page.getByTestId("policy-version")).toHaveText("v2");
    const policy = await (await page.request.get(`/api/v1/tenants/${slug}/policy`)).json();
    expect(policy.limits.maxConnectionsPerIp).toBe(7);
    expect(policy.limits.maxConnections).toBe(10_000); // the other limits are untouched

    await page.reload();
    await page.getByRole("tab", { name: "Credential policy" }).click();
    await expect(page.getByRole("spinbutton", { name: /^Concurrent connections per client address/ })).toHaveValue("7");
  });
});
