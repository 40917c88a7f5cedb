/**
 * The audit page end to end: Chromium → `next start` → the real gateway process, with real
 * WebSocket handshakes made from this test process against the gateway's tenant endpoint.
 *
 * - a refused handshake shows up in the live feed; an editor opens it, allows its origin
 *   (confirm step naming tenant and exact origin), gets a toast linking to the tenant's
 *   history, and the next handshake from that origin is accepted;
 * - a forward-auth decision (`/authz/<tenant>`, via forward_auth) streams into the live feed
 *   marked "forward auth", a direct handshake beside it unmarked;
 * - pause buffers new events behind "N new"; a dropped stream reconnects with a fresh
 *   token, resumes after the last event it saw (no gap, no duplicate) and never puts the
 *   token in a URL;
 * - history search finds the event and the CSV export downloads it;
 * - a viewer sees the events but no allow button, and the API refuses a viewer (403).
 */
import { readFile } from "node:fs/promises";
import type { Page } from "@playwright/test";
import WebSocket from "ws";
import { expect, makeTenant, makeUser, signedInContext, signInUI, sql, test, unique } from "./support";

function gatewayUrl(): string {
  const url = process.env.E2E_GATEWAY_URL;
  if (!url) throw new Error("E2E_GATEWAY_URL missing: run through `npx playwright test` (global setup)");
  return url;
}

/** One real handshake against the tenant endpoint; resolves with 101 or the refusal's status. */
function handshakeStatus(slug: string, origin: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${gatewayUrl()}/t/${slug}/feed`, {
      headers: { Origin: origin },
      perMessageDeflate: false,
    });
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

/** Waits until the gateway enforces the new tenant (it loads it within moments of the commit). */
async function gatewayKnows(slug: string, allowedOrigin: string): Promise<void> {
  await expect.poll(() => handshakeStatus(slug, allowedOrigin), { timeout: 15_000 }).toBe(101);
}

function liveRow(page: Page, origin: string) {
  return page.getByRole("table", { name: "Live events" }).getByRole("row").filter({ hasText: origin });
}

/** The latest refusal from `origin` (later accepted handshakes from it are other events). */
async function eventId(slug: string, origin: string): Promise<string> {
  const rows = await sql<{ id: string }>(
    `select id::text as id from audit_event
      where tenant = $1 and origin = $2 and decision = 'rejected' order by id desc limit 1`,
    [slug, origin],
  );
  if (!rows[0]) throw new Error(`no refusal recorded for ${origin}`);
  return rows[0].id;
}

test("a refused handshake appears live; an editor allows its origin and the next handshake succeeds", async ({
  page,
}) => {
  const editor = await makeUser("editor");
  const slug = await makeTenant(["https://app.example.com"]);
  await gatewayKnows(slug, "https://app.example.com");

  await signInUI(page, editor);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).click();
  await expect(page).toHaveURL(/\/audit/);
  await page.getByRole("combobox", { name: "Tenant" }).selectOption(slug);
  await expect(page).toHaveURL(new RegExp(`tenant=${slug}`));
  const live = page.getByRole("region", { name: "Live feed" });
  await expect(live.getByTestId("feed-status")).toHaveText("live");

  const origin = `https://${unique("partner")}.example.net`;
  expect(await handshakeStatus(slug, origin)).toBe(403);
  const row = liveRow(page, origin);
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("origin_not_allowed");
  await expect(row).toContainText("rejected");

  await row.getByRole("button", { name: /^Details of event #\d+$/ }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toBeVisible();
  const fields = dialog.getByTestId("event-fields");
  await expect(fields).toContainText(origin);
  await expect(fields).toContainText("origin_not_allowed");
  await expect(fields).toContainText(slug);

  await dialog.getByRole("button", { name: "Allow this origin…" }).click();
  await expect(dialog.getByTestId("allow-origin-value")).toHaveText(origin);
  await expect(dialog.getByRole("region", { name: "Allow this origin?" })).toContainText(slug);
  await expect(dialog).toContainText("version 1 → 2");
  await dialog.getByRole("button", { name: `Allow ${origin}` }).click();

  const toast = page.getByRole("status").filter({ hasText: `Allowed ${origin} for ${slug}` });
  await expect(toast).toBeVisible();
  await expect(toast.getByRole("link", { name: "View the tenant's history" })).toHaveAttribute(
    "href",
    `/tenants/${slug}?tab=history`,
  );
  await expect(dialog).toContainText("as version 2");

  // The gateway picks the new revision up within moments: poll with real handshakes.
  await expect.poll(() => handshakeStatus(slug, origin), { timeout: 15_000, intervals: [100, 250, 500] }).toBe(101);
  // Only that exact origin: a subdomain of it is still refused.
  expect(await handshakeStatus(slug, origin.replace("https://", "https://sub."))).toBe(403);

  const id = await eventId(slug, origin);
  const revisions = await sql<{ version: number; comment: string; author: string }>(
    `select r.version, r.comment, r.author from policy_revision r join tenant t on t.id = r.tenant_id
      where t.slug = $1 order by r.version`,
    [slug],
  );
  expect(revisions.at(-1)).toEqual({
    version: 2,
    comment: `Allow ${origin} from audit event #${id}`,
    author: editor.email,
  });
  const entries = await sql<{ pattern: string; note: string }>(
    "select o.pattern, o.note from allowed_origin o join tenant t on t.id = o.tenant_id where t.slug = $1 order by o.pattern",
    [slug],
  );
  expect(entries).toEqual([
    { pattern: "https://app.example.com", note: null },
    { pattern: origin, note: `allowed from audit event #${id}` },
  ]);

  // The accepted handshake (and its close) stream in as well.
  await dialog.getByRole("button", { name: "Close" }).click();
  await expect(dialog).toBeHidden();
  await expect(liveRow(page, origin).filter({ hasText: "accepted" }).first()).toBeVisible();
});

/** One forward-auth subrequest as Traefik sends it (GET + X-Forwarded-*), straight to the gateway. */
async function forwardAuthStatus(slug: string, origin: string): Promise<{ status: number; reason: string | null }> {
  const res = await fetch(`${gatewayUrl().replace(/^ws/, "http")}/authz/${slug}`, {
    headers: {
      Origin: origin,
      "X-Forwarded-Method": "GET",
      "X-Forwarded-Proto": "https",
      "X-Forwarded-Host": "api.example.com",
      "X-Forwarded-Uri": "/orders",
      "X-Forwarded-For": "198.51.100.23",
    },
  });
  return { status: res.status, reason: res.headers.get("x-origingate-reason") };
}

test("a forward-auth decision reaches the live feed, marked as forward auth (SPEC §5.1)", async ({ page }) => {
  const slug = await makeTenant(["https://app.example.com"]);
  await gatewayKnows(slug, "https://app.example.com");
  await signInUI(page, await makeUser("viewer"));
  await page.goto(`/audit?tenant=${slug}`);
  const live = page.getByRole("region", { name: "Live feed" });
  await expect(live.getByTestId("feed-status")).toHaveText("live");

  // A proxy asks about a request from a refused origin, and a handshake comes straight in:
  // both stream in; only the first is marked as forward auth.
  const proxied = `https://${unique("proxied")}.example.net`;
  const direct = `https://${unique("direct")}.example.net`;
  expect(await forwardAuthStatus(slug, proxied)).toEqual({ status: 403, reason: "origin_not_allowed" });
  expect(await handshakeStatus(slug, direct)).toBe(403);
  const row = liveRow(page, proxied);
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("rejected");
  await expect(row).toContainText("http");
  await expect(row).toContainText("forward auth");
  await expect(row).toContainText("origin_not_allowed");
  await expect(row).toContainText("198.51.100.23");
  await expect(liveRow(page, direct)).toHaveCount(1);
  await expect(liveRow(page, direct)).not.toContainText("forward auth");

  await row.getByRole("button", { name: /^Details of event #\d+$/ }).click();
  const fields = page.getByRole("dialog").getByTestId("event-fields");
  await expect(fields).toContainText(/Via\s*forward auth/);
  await expect(fields).toContainText(/Kind\s*http/);

  // The feed carries exactly the row the gateway stored.
  const stored = await sql<{ via: string; kind: string; decision: string }>(
    "select via, kind, decision from audit_event where tenant = $1 and origin = $2",
    [slug, proxied],
  );
  expect(stored).toEqual([{ via: "forward_auth", kind: "http", decision: "rejected" }]);
});

test("pause buffers new events; a dropped stream resumes after the last event with a fresh token", async ({ page }) => {
  const viewer = await makeUser("viewer");
  const slug = await makeTenant(["https://app.example.com"]);
  await gatewayKnows(slug, "https://app.example.com");

  const streams: Array<{ url: string; close: () => Promise<void> }> = [];
  await page.routeWebSocket(/\/admin\/stream/, (ws) => {
    ws.connectToServer();
    streams.push({ url: ws.url(), close: () => ws.close({ code: 4000, reason: "test drops the stream" }) });
  });
  const tokenRequests: string[] = [];
  page.on("request", (request) => {
    if (request.url().endsWith("/api/v1/audit/stream-token")) tokenRequests.push(request.method());
  });

  await signInUI(page, viewer);
  await page.goto(`/audit?tenant=${slug}`);
  const live = page.getByRole("region", { name: "Live feed" });
  await expect(live.getByTestId("feed-status")).toHaveText("live");

  const first = `https://${unique("first")}.example.org`;
  expect(await handshakeStatus(slug, first)).toBe(403);
  await expect(liveRow(page, first)).toHaveCount(1);

  // Paused: the event arrives but waits behind "1 new".
  await live.getByRole("button", { name: "Pause" }).click();
  const paused = `https://${unique("paused")}.example.org`;
  expect(await handshakeStatus(slug, paused)).toBe(403);
  await expect(live.getByRole("button", { name: "Resume (1 new)" })).toBeVisible();
  await expect(live.getByTestId("feed-paused")).toContainText("1 new event has arrived");
  await expect(liveRow(page, paused)).toHaveCount(0);
  await live.getByRole("button", { name: /^Resume/ }).click();
  await expect(liveRow(page, paused)).toHaveCount(1);

  // Drop the stream; an event written meanwhile must arrive exactly once after the reconnect.
  expect(streams).toHaveLength(1);
  const lastSeen = await eventId(slug, paused);
  await streams[0]!.close();
  const during = `https://${unique("during")}.example.org`;
  expect(await handshakeStatus(slug, during)).toBe(403);
  await expect.poll(() => streams.length, { timeout: 15_000 }).toBe(2);
  await expect(live.getByTestId("feed-status")).toHaveText("live");
  await expect(liveRow(page, during)).toHaveCount(1);
  await expect(liveRow(page, first)).toHaveCount(1);
  await expect(liveRow(page, paused)).toHaveCount(1);

  const resumed = new URL(streams[1]!.url);
  expect(resumed.searchParams.get("tenant")).toBe(slug);
  expect(BigInt(resumed.searchParams.get("after") ?? "0")).toBeGreaterThanOrEqual(BigInt(lastSeen));
  expect(new URL(streams[0]!.url).searchParams.get("after")).toBeNull();
  // A fresh token per connection, and never in a URL.
  expect(tokenRequests.filter((m) => m === "POST").length).toBeGreaterThanOrEqual(2);
  for (const { url } of streams) expect(url).not.toMatch(/bearer|token|eyJ/i);

  // The decision filter is applied by the gateway: a new connection with decision=accepted.
  await live.getByRole("combobox", { name: "Decision", exact: true }).selectOption("accepted");
  await expect.poll(() => streams.length, { timeout: 15_000 }).toBe(3);
  expect(new URL(streams[2]!.url).searchParams.get("decision")).toBe("accepted");
  await expect(live.getByTestId("feed-status")).toHaveText("live");
  // The first screen is seeded from the history (the accepted handshakes of gatewayKnows).
  const accepted = liveRow(page, "https://app.example.com");
  await expect(accepted.first()).toBeVisible();
  await expect(page.getByRole("table", { name: "Live events" })).not.toContainText("origin_not_allowed");
  const before = await accepted.count();
  expect(await handshakeStatus(slug, `https://${unique("ignored")}.example.org`)).toBe(403);
  expect(await handshakeStatus(slug, "https://app.example.com")).toBe(101);
  // Events stream in id order: once the later accepted one is shown, the refused one was skipped.
  await expect.poll(() => accepted.count(), { timeout: 10_000 }).toBeGreaterThan(before);
  await expect(page.getByRole("table", { name: "Live events" })).not.toContainText("ignored");
});

test("history search finds the event, and the CSV export of that search downloads it", async ({ page }) => {
  const viewer = await makeUser("viewer");
  const slug = await makeTenant(["https://app.example.com"]);
  await gatewayKnows(slug, "https://app.example.com");
  const origin = `https://${unique("history")}.example.com`;
  expect(await handshakeStatus(slug, origin)).toBe(403);
  await expect.poll(() => eventId(slug, origin).catch(() => null), { timeout: 10_000 }).not.toBeNull();

  await signInUI(page, viewer);
  await page.goto("/audit");
  const history = page.getByRole("region", { name: "History" });
  await page.getByRole("combobox", { name: "Tenant" }).selectOption(slug);
  // Typed loosely: the form normalizes it like the gateway does (case, default port).
  await history
    .getByRole("textbox", { name: "Origin" })
    .fill(`${origin.toUpperCase().replace("HTTPS://", "https://")}:443`);
  await history.getByRole("combobox", { name: "Decision", exact: true }).selectOption("rejected");
  await history.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(new RegExp(`origin=${encodeURIComponent(origin).replace(/\./g, "\\.")}`));
  const table = history.getByRole("table", { name: "History" });
  await expect(table.getByRole("row").filter({ hasText: origin })).toHaveCount(1);
  await expect(table).toContainText("origin_not_allowed");

  await history.getByRole("combobox", { name: "Decision", exact: true }).selectOption("accepted");
  await history.getByRole("button", { name: "Search" }).click();
  await expect(history.getByText("No events match these filters")).toBeVisible();
  await history.getByRole("combobox", { name: "Decision", exact: true }).selectOption("rejected");
  await history.getByRole("button", { name: "Search" }).click();
  await expect(table.getByRole("row").filter({ hasText: origin })).toHaveCount(1);

  const download = page.waitForEvent("download");
  await history.getByRole("link", { name: "CSV" }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^origingate-audit-\d{8}-\d{6}\.csv$/);
  const csv = await readFile(await file.path(), "utf8");
  const lines = csv.trimEnd().split("\r\n");
  expect(lines[0]).toMatch(/^id,ts,lastTs,gatewayId,kind,via,tenant,decision,reason,origin,/);
  expect(lines).toHaveLength(2);
  expect(lines[1]).toContain(`,${slug},rejected,origin_not_allowed,${origin},${origin},`);

  // The details panel shows every field; a viewer gets no allow button.
  await table.getByRole("button", { name: /^Details of event #\d+$/ }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog.getByTestId("event-fields")).toContainText(origin);
  await expect(dialog.getByTestId("event-fields")).toContainText("Client address");
  await expect(dialog.getByRole("button", { name: "Allow this origin…" })).toHaveCount(0);
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
});

test("the API: viewers read, search and export but may not allow; bad filters are 422 with details", async () => {
  const viewer = await makeUser("viewer");
  const editor = await makeUser("editor");
  const slug = await makeTenant(["https://app.example.com"]);
  await gatewayKnows(slug, "https://app.example.com");
  const origin = `https://${unique("api")}.example.com`;
  expect(await handshakeStatus(slug, origin)).toBe(403);
  await expect.poll(() => eventId(slug, origin).catch(() => null), { timeout: 10_000 }).not.toBeNull();
  const id = await eventId(slug, origin);

  const asViewer = await signedInContext(viewer);
  const search = await asViewer.get(
    `/api/v1/audit?tenant=${slug}&decision=rejected&origin=${encodeURIComponent(origin)}`,
  );
  expect(search.status()).toBe(200);
  const page = (await search.json()) as { events: Array<Record<string, unknown>>; nextCursor: string | null };
  expect(page.nextCursor).toBeNull();
  expect(page.events).toHaveLength(1);
  expect(page.events[0]).toMatchObject({
    id,
    tenant: slug,
    decision: "rejected",
    reason: "origin_not_allowed",
    origin,
    policyVersion: 1,
    count: 1,
  });
  for (const field of ["ts", "gatewayId", "remoteAddr"]) expect(page.events[0]).toHaveProperty(field);

  const stats = await asViewer.get(`/api/v1/audit/stats?tenant=${slug}&window=day`);
  expect(stats.status()).toBe(200);
  const body = (await stats.json()) as { timeline: unknown[]; topRejected: Array<{ origin: string; count: number }> };
  expect(body.timeline).toHaveLength(48);
  expect(body.topRejected).toContainEqual(expect.objectContaining({ origin, count: 1 }));

  // Filtered by origin too: waiting for the gateway to know the tenant may itself have been
  // refused as tenant_unknown, which is also a rejected event of this tenant.
  const ndjson = await asViewer.get(
    `/api/v1/audit/export?format=ndjson&tenant=${slug}&decision=rejected&origin=${encodeURIComponent(origin)}`,
  );
  expect(ndjson.status()).toBe(200);
  expect(ndjson.headers()["content-disposition"]).toMatch(/^attachment; filename="origingate-audit-.*\.ndjson"$/);
  const lines = (await ndjson.text()).trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]!)).toMatchObject({ id, origin, decision: "rejected" });

  const token = await asViewer.post("/api/v1/audit/stream-token");
  expect(token.status()).toBe(200);
  const grant = (await token.json()) as { url: string; protocol: string; token: string };
  expect(grant.url).toBe(`${gatewayUrl()}/admin/stream`);
  expect(grant.protocol).toBe("og-admin.v1");

  const refused = await asViewer.post(`/api/v1/audit/${id}/allow`, { data: {} });
  expect(refused.status()).toBe(403);
  expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("forbidden");

  const bad = await asViewer.get("/api/v1/audit?decision=maybe&since=yesterday&limit=0");
  expect(bad.status()).toBe(422);
  const error = ((await bad.json()) as { error: { code: string; details: Array<{ path: string }> } }).error;
  expect(error.code).toBe("validation_failed");
  expect(error.details.map((d) => d.path).sort()).toEqual(["decision", "limit", "since"]);
  expect((await asViewer.get("/api/v1/audit/export?format=xlsx")).status()).toBe(422);
  expect((await asViewer.get("/api/v1/audit/stats?window=week")).status()).toBe(422);

  // An editor may; a second time it is already allowed.
  const asEditor = await signedInContext(editor);
  const allowed = await asEditor.post(`/api/v1/audit/${id}/allow`, { data: { expectedVersion: 1 } });
  expect(allowed.status(), await allowed.text()).toBe(200);
  expect(await allowed.json()).toMatchObject({ tenant: slug, origin, version: 2 });
  const again = await asEditor.post(`/api/v1/audit/${id}/allow`, { data: {} });
  expect(again.status()).toBe(409);
  expect(((await again.json()) as { error: { code: string } }).error.code).toBe("already_allowed");
  expect((await asEditor.post("/api/v1/audit/not-an-id/allow", { data: {} })).status()).toBe(404);
});
