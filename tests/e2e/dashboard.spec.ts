/**
 * The dashboard in Chromium against the real `next start` + gateway of the global setup:
 * first-admin setup, sign-in, tenant creation, allowlist editing (an invalid entry shows the
 * parser's message and nothing is saved), saving new versions, comparing two revisions,
 * rollback, concurrent edits, a viewer who cannot change anything, the fleet view, users
 * and API tokens.
 */
import pg from "pg";
import { issueSetupTokenIfNeeded } from "../../server/db/setup-token";
import {
  databaseUrl,
  expect,
  makeTenant,
  makeUser,
  PASSWORD,
  policyVersion,
  signInUI,
  sql,
  test,
  unique,
} from "./support";

test("first-admin setup with the one-time token, then sign-out and sign-in", async ({ page }) => {
  // The e2e database is shared by every spec: hide the admins other specs created, so /setup
  // sees a fresh installation, and give them back afterwards.
  const hidden = await sql<{ id: string }>(`update "user" set role = 'editor' where role = 'admin' returning id`);
  try {
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    const token = await issueSetupTokenIfNeeded(client).finally(() => client.end());
    expect(token).toMatch(/^ogs_/);

    await page.goto("/login");
    await page.getByRole("link", { name: "Create the first admin" }).click();
    await expect(page).toHaveURL(/\/setup$/);
    const email = `${unique("first-admin")}@e2e.example.com`;
    await page.getByLabel("Setup token").fill(`${token}x`);
    await page.getByLabel("Your e-mail").fill(email);
    await page.getByLabel("Name").fill("First Admin");
    await page.getByLabel(/^Password/).fill(PASSWORD);
    await page.getByLabel("Repeat password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create admin and sign in" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "not valid" })).toBeVisible();

    await page.getByLabel("Setup token").fill(token!);
    await page.getByRole("button", { name: "Create admin and sign in" }).click();
    await expect(page).toHaveURL(/\/tenants$/);
    await expect(page.getByTestId("current-role")).toHaveText("admin");
    await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" })).toBeVisible();

    // The token is spent: a second use is refused, and /setup says so.
    const again = await page.request.post("/api/setup", {
      headers: { Origin: new URL(page.url()).origin },
      data: { token, email: `${unique("second")}@e2e.example.com`, password: PASSWORD },
    });
    expect(again.status()).toBe(403);
    await page.goto("/setup");
    await expect(page.getByText("An admin already exists")).toBeVisible();

    await page.goto("/tenants");
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login/);
    await page.goto("/tenants");
    await expect(page).toHaveURL(/\/login\?next=%2Ftenants/);
    await page.getByLabel("E-mail").fill(email);
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "Wrong e-mail or password" })).toBeVisible();
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/tenants$/);
    await expect(page.getByRole("heading", { name: "Tenants" })).toBeVisible();
  } finally {
    await sql(`update "user" set role = 'admin' where id = any($1::text[])`, [hidden.map((h) => h.id)]);
  }
});

test("create a tenant, edit its allowlist and policy, save, compare revisions, roll back", async ({ page }) => {
  await signInUI(page, await makeUser("admin"));
  const slug = unique("ui");

  await page.getByRole("button", { name: "New tenant" }).click();
  await page.getByLabel(/^Slug/).fill(slug);
  await page.getByLabel(/^Name/).fill("UI tenant");
  await page.getByRole("button", { name: "Create tenant" }).click();
  await expect(page).toHaveURL(new RegExp(`/tenants/${slug}$`));
  await expect(page.getByTestId("policy-version")).toHaveText("v1");
  await expect(page.getByText("The allowlist is empty")).toBeVisible();

  // An invalid pattern: the gateway parser's message is shown and nothing is added or saved.
  const pattern = page.getByLabel("Origin pattern");
  await pattern.fill("https://*.com");
  await expect(page.getByTestId("pattern-feedback")).toContainText("public suffix");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await expect(page.getByTestId("pattern-feedback")).toContainText("public suffix");
  await expect(page.getByText("The allowlist is empty")).toBeVisible();
  expect(await policyVersion(slug)).toBe(1);
  expect(
    await sql("select 1 from allowed_origin o join tenant t on t.id = o.tenant_id where t.slug = $1", [slug]),
  ).toHaveLength(0);

  // A valid one, normalised as the gateway stores it.
  await pattern.fill("HTTPS://App.Example.com:443");
  await expect(page.getByTestId("pattern-feedback")).toHaveText("Will be stored as https://app.example.com");
  await page.getByLabel("Note", { exact: true }).fill("main app");
  await pattern.press("Enter");
  await expect(page.getByRole("table", { name: "Allowlist" }).getByText("https://app.example.com")).toBeVisible();

  // Bulk paste: a result per line.
  await page.getByRole("button", { name: "Bulk paste…" }).click();
  await page
    .getByRole("textbox", { name: /One pattern per line/ })
    .fill("https://*.example.org  staging\nhttps://ex*ample.com\nhttp://localhost:*\nhttps://app.example.com");
  await page.getByRole("button", { name: "Add lines" }).click();
  const results = page.getByRole("table", { name: "Bulk paste results" });
  await expect(results.getByRole("row")).toHaveCount(5);
  await expect(results.getByRole("row").nth(1)).toContainText("added");
  await expect(results.getByRole("row").nth(2)).toContainText("refused:");
  await expect(results.getByRole("row").nth(4)).toContainText("already in the list");
  await expect(page.getByText("2 added, 1 duplicate, 1 refused")).toBeVisible();
  expect(await policyVersion(slug)).toBe(1);

  await page.getByRole("textbox", { name: "Comment", exact: true }).fill("first origins");
  await page.getByRole("button", { name: "Save as v2" }).click();
  await expect(page.getByTestId("policy-version")).toHaveText("v2");
  await expect(page.getByText("Saved version 2")).toBeVisible();
  const saved = await sql<{ pattern: string }>(
    "select o.pattern from allowed_origin o join tenant t on t.id = o.tenant_id where t.slug = $1 order by 1",
    [slug],
  );
  expect(saved.map((r) => r.pattern)).toEqual([
    "http://localhost:*",
    "https://*.example.org",
    "https://app.example.com",
  ]);

  // Credential policy: report-only, with its warning shown.
  await page.getByRole("tab", { name: "Credential policy" }).click();
  await page.getByRole("radio", { name: /Report-only/ }).check();
  await expect(page.getByText("report-only: nothing is enforced")).toBeVisible();
  await page.getByRole("button", { name: "Save as v3" }).click();
  await expect(page.getByTestId("policy-version")).toHaveText("v3");

  // History: compare v1 with v3.
  await page.getByRole("tab", { name: "History" }).click();
  const revisions = page.getByRole("table", { name: "Revisions" });
  await expect(revisions.getByRole("row")).toHaveCount(4);
  await expect(revisions).toContainText("first origins");
  await page.getByRole("radio", { name: "Compare from version 1" }).check();
  await page.getByRole("radio", { name: "Compare to version 3" }).check();
  const comparison = page.getByRole("region", { name: "Comparison" });
  await expect(comparison).toContainText("Changes from v1 to v3");
  await expect(comparison.getByRole("list", { name: "Allowlist changes" }).getByRole("listitem")).toHaveCount(3);
  await expect(comparison.getByRole("table", { name: "Field changes" })).toContainText("report-only");

  // Roll back to v2: a new revision v4 that restores v2 (enforce again).
  await page.getByRole("button", { name: "Roll back to version 2" }).click();
  await expect(page.getByRole("region", { name: "Roll back to version 2" })).toContainText("report-only");
  await page.getByRole("button", { name: "Confirm rollback to v2" }).click();
  await expect(page.getByTestId("policy-version")).toHaveText("v4");
  await expect(revisions.getByRole("row")).toHaveCount(5);
  await expect(revisions.getByRole("row").nth(1)).toContainText("rollback to v2");
  const policy = await (await page.request.get(`/api/v1/tenants/${slug}/policy`)).json();
  expect(policy.version).toBe(4);
  expect(policy.mode).toBe("enforce");
  expect(policy.origins).toHaveLength(3);
});

test("a stale edit is not overwritten: the conflict shows what changed and re-applies on top", async ({ browser }) => {
  const slug = await makeTenant(["https://base.example.com"]);
  const alice = await makeUser("editor");
  const bob = await makeUser("editor");
  const aliceContext = await browser.newContext();
  const bobContext = await browser.newContext();
  const a = await aliceContext.newPage();
  const b = await bobContext.newPage();
  await signInUI(a, alice);
  await signInUI(b, bob);
  await a.goto(`/tenants/${slug}`);
  await b.goto(`/tenants/${slug}`);

  await a.getByLabel("Origin pattern").fill("https://alice.example.com");
  await a.getByRole("button", { name: "Add", exact: true }).click();
  await b.getByLabel("Origin pattern").fill("https://bob.example.com");
  await b.getByRole("button", { name: "Add", exact: true }).click();

  await a.getByRole("button", { name: "Save as v2" }).click();
  await expect(a.getByTestId("policy-version")).toHaveText("v2");

  await b.getByRole("button", { name: "Save as v2" }).click();
  const conflict = b.getByRole("region", { name: "Edit conflict" });
  await expect(conflict).toContainText("version 2 was saved while you edited version 1");
  await expect(conflict).toContainText(alice.email);
  await expect(conflict).toContainText("https://alice.example.com");
  expect(await policyVersion(slug)).toBe(2);

  await b.getByRole("button", { name: "Re-apply my changes on v2" }).click();
  await b.getByRole("button", { name: "Save as v3" }).click();
  await expect(b.getByTestId("policy-version")).toHaveText("v3");
  const policy = await (await b.request.get(`/api/v1/tenants/${slug}/policy`)).json();
  expect(policy.origins.map((o: { pattern: string }) => o.pattern).sort()).toEqual([
    "https://alice.example.com",
    "https://base.example.com",
    "https://bob.example.com",
  ]);
  await Promise.all([aliceContext.close(), bobContext.close()]);
});

test("a viewer can read everything and change nothing (UI and API)", async ({ page }) => {
  const slug = await makeTenant(["https://read.example.com"]);
  await signInUI(page, await makeUser("viewer"));
  await expect(page.getByTestId("current-role")).toHaveText("viewer");
  await expect(page.getByRole("button", { name: "New tenant" })).toHaveCount(0);
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Users" })).toHaveCount(0);
  await expect(nav.getByRole("link", { name: "API tokens" })).toHaveCount(0);

  await page.goto(`/tenants/${slug}`);
  await expect(page.getByRole("table", { name: "Allowlist" })).toContainText("https://read.example.com");
  await expect(page.getByText("Read-only: your role can view this policy")).toBeVisible();
  await expect(page.getByLabel("Origin pattern")).toHaveCount(0);
  await expect(page.getByRole("button", { name: /^Remove/ })).toHaveCount(0);
  await page.getByRole("tab", { name: "Credential policy" }).click();
  await expect(page.getByRole("radio", { name: /Report-only/ })).toBeDisabled();
  await page.getByRole("tab", { name: "History" }).click();
  await expect(page.getByRole("table", { name: "Revisions" })).toBeVisible();
  await expect(page.getByRole("button", { name: /Roll back/ })).toHaveCount(0);
  await page.getByRole("tab", { name: "Settings" }).click();
  await expect(page.getByRole("textbox", { name: "Name" })).toBeDisabled();
  await expect(page.getByRole("button", { name: "Delete tenant" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: /Rotate secret/ })).toHaveCount(0);

  // Admin pages refuse on the server, whatever the navigation shows.
  await page.goto("/users");
  await expect(page.getByRole("heading", { name: "Not allowed" })).toBeVisible();
  await page.goto("/tokens");
  await expect(page.getByRole("heading", { name: "Not allowed" })).toBeVisible();

  // The API refuses the viewer's session too (same-origin requests, so not a CSRF refusal).
  const origin = new URL(page.url()).origin;
  const put = await page.request.put(`/api/v1/tenants/${slug}/policy`, {
    headers: { Origin: origin, "If-Match": '"1"' },
    data: {
      mode: "report-only",
      origins: [],
      credentials: "forbid",
      token: "off",
      missingOrigin: "reject",
      subprotocols: [],
      limits: {
        maxMessageBytes: 1048576,
        idleTimeoutSeconds: 60,
        maxConnections: 10000,
        handshakesPerMinutePerIp: 600,
      },
    },
  });
  expect(put.status()).toBe(403);
  expect((await put.json()).error.code).toBe("forbidden");
  const rollback = await page.request.post(`/api/v1/tenants/${slug}/revisions/1/rollback`, {
    headers: { Origin: origin },
  });
  expect(rollback.status()).toBe(403);
  const del = await page.request.delete(`/api/v1/tenants/${slug}`, { headers: { Origin: origin } });
  expect(del.status()).toBe(403);
  const create = await page.request.post("/api/v1/tenants", {
    headers: { Origin: origin },
    data: { slug: unique("v"), name: "v" },
  });
  expect(create.status()).toBe(403);
  expect(await policyVersion(slug)).toBe(1);
});

test("the Gateways page shows the running gateway enforcing the latest policy", async ({ page }) => {
  const slug = await makeTenant(["https://fleet.example.com"]);
  await signInUI(page, await makeUser("viewer"));
  await page.goto("/gateways");
  const instances = page.getByRole("table", { name: "Gateway instances" });
  await expect(instances.getByText("live", { exact: true }).first()).toBeVisible();
  // The gateway reloads at once and reports on its next heartbeat (the page polls every 5 s).
  await expect(async () => {
    const gateways = await (await page.request.get("/api/v1/gateways")).json();
    expect(gateways.some((g: { enforcedVersions: Record<string, number> }) => g.enforcedVersions[slug] === 1)).toBe(
      true,
    );
  }).toPass({ timeout: 20_000 });
  await instances.getByRole("button", { name: "Tenants" }).first().click();
  const versions = page.getByRole("table", { name: /Versions enforced by/ }).first();
  await expect(versions.getByRole("row", { name: new RegExp(slug) })).toContainText("current", { timeout: 15_000 });
});

test("admins manage users and API tokens", async ({ page }) => {
  await signInUI(page, await makeUser("admin"));
  await page.goto("/users");
  const email = `${unique("new-user")}@e2e.example.com`;
  const form = page.getByRole("form", { name: "Add a user" });
  await form.getByLabel("E-mail").fill(email);
  await form.getByLabel(/Initial password/).fill("short");
  await form.getByRole("button", { name: "Add user" }).click();
  await expect(form.getByText("at least 12 characters")).toBeVisible();
  await form.getByLabel(/Initial password/).fill(PASSWORD);
  await form.getByRole("button", { name: "Add user" }).click();
  const users = page.getByRole("table", { name: "Users" });
  await expect(users).toContainText(email);
  await users.getByRole("combobox", { name: `Role of ${email}` }).selectOption("editor");
  await page
    .getByRole("dialog", { name: "Change this user's role?" })
    .getByRole("button", { name: "Make editor" })
    .click();
  await expect(page.getByText("Role changed")).toBeVisible();
  const [row] = await sql<{ role: string }>(`select role from "user" where email = $1`, [email]);
  expect(row?.role).toBe("editor");

  await page.goto("/tokens");
  const name = unique("ci");
  const tokenForm = page.getByRole("form", { name: "Create an API token" });
  await tokenForm.getByLabel(/^Name/).fill(name);
  await tokenForm.getByLabel("Role").selectOption("editor");
  await tokenForm.getByRole("button", { name: "Create token" }).click();
  const shown = page.getByTestId("new-token");
  await expect(shown).toContainText(name);
  const token = (await shown.locator("code").textContent())?.trim() ?? "";
  expect(token).toMatch(/^og_/);
  const me = await page.request.get("/api/v1/me", { headers: { Authorization: `Bearer ${token}` } });
  expect((await me.json()).label).toBe(`token:${name}`);
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByText(token)).toHaveCount(0);
  await page.getByRole("button", { name: `Revoke ${name}` }).click();
  await page.getByRole("button", { name: "Confirm revoke" }).click();
  await expect(
    page.getByRole("table", { name: "API tokens" }).getByRole("row", { name: new RegExp(name) }),
  ).toContainText("revoked");
  // The row turns "revoked" optimistically; the toast comes once the server has committed.
  await expect(page.getByText("Token revoked")).toBeVisible();
  const after = await page.request.get("/api/v1/me", { headers: { Authorization: `Bearer ${token}` } });
  expect(after.status()).toBe(401);
});
