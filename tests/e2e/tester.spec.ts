/**
 * The handshake tester end to end: Chromium → `next start` → the real gateway process →
 * (this gateway's tenant | an independent `ws` server registered as an endpoint).
 *
 * - an editor runs presets from /tester and sees the status line and the decision trace;
 * - a scan of the tenant on this gateway finds nothing, a scan of a registered naive
 *   endsWith server shows its bypasses as findings, and the CSV export downloads;
 * - the API: viewers may not run the tester, only admins register endpoints, bad URLs are
 *   422, unregistered ones 403.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { APIRequestContext } from "@playwright/test";
import { WebSocketServer } from "ws";
import { expect, makeTenant, makeUser, signedInContext, signInUI, test } from "./support";

let naive: { url: string; close: () => Promise<void> };

test.beforeAll(async () => {
  const server = http.createServer();
  const wss = new WebSocketServer({
    server,
    verifyClient: (info: { origin: string }) => ((info.origin as string | undefined) ?? "").endsWith("example.com"),
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  naive = {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/socket`,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
});

test.afterAll(async () => {
  await naive?.close();
});

/** Waits until the gateway has loaded the new tenant (it follows Postgres within milliseconds). */
async function gatewayKnows(api: APIRequestContext, tenant: string): Promise<void> {
  await expect
    .poll(async () => (await api.post("/api/v1/tester/handshake", { data: { tenant, origin: null } })).status(), {
      timeout: 15_000,
    })
    .toBe(200);
}

test("an editor runs presets against this gateway and sees the decision trace", async ({ page }) => {
  const editor = await makeUser("editor");
  const slug = await makeTenant(["https://app.example.com"]);
  await gatewayKnows(await signedInContext(editor), slug);

  await signInUI(page, editor);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tester" }).click();
  await expect(page).toHaveURL(/\/tester/);
  await page.getByRole("combobox", { name: "Tenant", exact: true }).selectOption(slug);
  await expect(page.getByRole("combobox", { name: "Connect to" })).toHaveValue("gateway");

  await page.getByRole("button", { name: "Attacker page on another site" }).click();
  await expect(page.getByRole("textbox", { name: "Origin" })).toHaveValue("https://attacker.example.net");
  await page.getByRole("button", { name: "Run handshake" }).click();
  const result = page.getByTestId("handshake-result");
  await expect(result.getByTestId("status-line")).toHaveText("HTTP/1.1 403 Forbidden");
  await expect(result).toContainText("Refused before the upgrade");
  const trace = result.getByTestId("decision-trace");
  await expect(trace).toContainText("origin_not_allowed");
  await expect(trace).toContainText("Origin https://attacker.example.net matches no pattern");
  await expect(result.getByRole("table", { name: "Response headers" })).toContainText("X-OriginGate-Reason");

  await page.getByRole("button", { name: "Browser on an allowed origin" }).click();
  await expect(page.getByRole("textbox", { name: "Origin" })).toHaveValue("https://app.example.com");
  await page.getByRole("button", { name: "Run handshake" }).click();
  await expect(result.getByTestId("status-line")).toHaveText("HTTP/1.1 101 Switching Protocols");
  await expect(trace).toContainText("matched https://app.example.com");

  // The cookie preset comes from the tenant's own allowed origin, so the credential policy
  // (forbid) is what refuses it, not the allowlist.
  await page.getByRole("button", { name: "Cookie-bearing request from an allowed origin" }).click();
  await expect(page.getByRole("textbox", { name: "Origin" })).toHaveValue("https://app.example.com");
  await page.getByRole("button", { name: "Run handshake" }).click();
  await expect(result.getByTestId("status-line")).toHaveText("HTTP/1.1 403 Forbidden");
  await expect(trace).toContainText("credentials_forbidden");
  // Its credentials step is judged (fail), not skipped after a failed origin check.
  await expect(trace.getByRole("listitem").filter({ hasText: /^credentials/ })).toContainText("fail");
  // The cookie went out, but its value is never shown back.
  await expect(result.getByRole("table", { name: "Request headers sent" })).toContainText("[redacted]");
  await expect(result).not.toContainText("victim-session-id");

  await page.getByRole("button", { name: "Native client without Origin" }).click();
  await page.getByRole("button", { name: "Run handshake" }).click();
  await expect(trace).toContainText("origin_missing");

  await page.getByRole("button", { name: "Sandboxed iframe (null)" }).click();
  await page.getByRole("button", { name: "Run handshake" }).click();
  await expect(trace).toContainText("origin_null");

  // A near miss gets the closest pattern and why it did not match.
  await page.getByRole("button", { name: "Browser on an allowed origin" }).click();
  await page.getByRole("textbox", { name: "Origin" }).fill("http://app.example.com");
  await page.getByRole("button", { name: "Run handshake" }).click();
  await expect(result.getByTestId("closest-pattern")).toContainText("scheme differs (http vs https)");
});

test("scans: nothing on this gateway, the naive server's bypasses on a registered endpoint, CSV export", async ({
  page,
}) => {
  const admin = await makeUser("admin");
  const slug = await makeTenant(["https://app.example.com"]);
  const api = await signedInContext(admin);
  await gatewayKnows(api, slug);

  await signInUI(page, admin);
  await page.goto(`/tester?tenant=${slug}`);
  await expect(page.getByRole("combobox", { name: "Tenant", exact: true })).toHaveValue(slug);

  // Register the naive server through the UI (admins only).
  await expect(page.getByText(/Registered endpoints \(0\)/)).toBeVisible();
  await page.getByLabel("Endpoint URL").fill("ftp://not-a-websocket.example.com/");
  await page.getByRole("button", { name: "Register endpoint" }).click();
  await expect(page.getByText("only ws://, wss://, http:// and https:// endpoints can be tested")).toBeVisible();
  await page.getByLabel("Endpoint URL").fill(naive.url);
  await page.getByLabel("Label").fill("naive endsWith");
  await page.getByRole("button", { name: "Register endpoint" }).click();
  await expect(page.getByText(/Registered endpoints \(1\)/)).toBeVisible();

  await page.getByRole("tab", { name: "Bypass scan" }).click();
  await page.getByRole("button", { name: "Run scan" }).click();
  const scan = page.getByTestId("scan-results");
  await expect(scan.getByTestId("findings-count")).toHaveText("0", { timeout: 30_000 });
  await expect(scan).toContainText("No finding");

  await page.getByRole("combobox", { name: "Connect to" }).selectOption({ label: `naive endsWith — ${naive.url}` });
  await page.getByRole("button", { name: "Run scan" }).click();
  await expect(scan.getByTestId("findings-count")).toHaveText("6", { timeout: 30_000 });
  const table = scan.getByRole("table", { name: "Scan results" });
  await expect(table).toContainText("https://evilapp.example.com");
  await expect(table).toContainText("http://app.example.com");
  await expect(table.getByText("finding", { exact: true })).toHaveCount(6);

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    scan.getByRole("button", { name: "Download CSV" }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^origingate-scan-.*\.csv$/);
  const stream = await download.createReadStream();
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const csv = Buffer.concat(chunks).toString("utf8");
  expect(csv.split("\r\n")[0]).toBe(
    "variant,origin,expected,expectedReason,observed,status,reason,closeCode,detail,finding,patterns",
  );
  expect(csv).toContain("https://appxexample.com,refuse,origin_not_allowed,allowed,101,,,,true");
});

test("tester API: roles, endpoint registration and target checks", async () => {
  const slug = await makeTenant(["https://app.example.com"]);
  const viewer = await signedInContext(await makeUser("viewer"));
  const editor = await signedInContext(await makeUser("editor"));
  const admin = await signedInContext(await makeUser("admin"));
  await gatewayKnows(editor, slug);

  expect((await viewer.post("/api/v1/tester/handshake", { data: { tenant: slug } })).status()).toBe(403);
  expect((await viewer.post("/api/v1/tester/scan", { data: { tenant: slug } })).status()).toBe(403);
  expect((await viewer.get(`/api/v1/tenants/${slug}/endpoints`)).status()).toBe(200);

  const ok = await editor.post("/api/v1/tester/handshake", {
    data: { tenant: slug, origin: "https://app.example.com" },
  });
  expect(ok.status()).toBe(200);
  const body = (await ok.json()) as {
    status: number;
    upgraded: boolean;
    trace: { decision: { matchedPattern: string } };
  };
  expect(body).toMatchObject({
    status: 101,
    upgraded: true,
    trace: { decision: { matchedPattern: "https://app.example.com" } },
  });

  const invalid = await editor.post("/api/v1/tester/handshake", { data: { tenant: slug, headers: { Host: "x" } } });
  expect(invalid.status()).toBe(422);
  expect(((await invalid.json()) as { error: { details: Array<{ path: string }> } }).error.details[0]?.path).toBe(
    "headers.Host",
  );

  const unregistered = await editor.post("/api/v1/tester/handshake", {
    data: { tenant: slug, url: "ws://127.0.0.1:5432/" },
  });
  expect(unregistered.status()).toBe(403);
  expect(((await unregistered.json()) as { error: { code: string } }).error.code).toBe("target_not_registered");

  expect((await editor.post(`/api/v1/tenants/${slug}/endpoints`, { data: { url: naive.url } })).status()).toBe(403);
  expect((await admin.post(`/api/v1/tenants/${slug}/endpoints`, { data: { url: "ftp://x/" } })).status()).toBe(422);
  const created = await admin.post(`/api/v1/tenants/${slug}/endpoints`, { data: { url: naive.url, label: "naive" } });
  expect(created.status()).toBe(201);
  const endpoint = (await created.json()) as { id: string; url: string };
  expect(endpoint.url).toBe(naive.url);
  expect((await admin.post(`/api/v1/tenants/${slug}/endpoints`, { data: { url: naive.url } })).status()).toBe(409);

  const external = await editor.post("/api/v1/tester/handshake", {
    data: { tenant: slug, url: naive.url, origin: "https://evil-app.example.com" },
  });
  expect(((await external.json()) as { upgraded: boolean }).upgraded).toBe(true);

  expect((await editor.delete(`/api/v1/tenants/${slug}/endpoints/${endpoint.id}`)).status()).toBe(403);
  expect((await admin.delete(`/api/v1/tenants/${slug}/endpoints/${endpoint.id}`)).status()).toBe(204);
  const removed = await editor.post("/api/v1/tester/handshake", { data: { tenant: slug, url: naive.url } });
  expect(removed.status()).toBe(403);
});
