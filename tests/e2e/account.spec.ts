/**
 * A password user's own account, in Chromium against the real dashboard:
 *  - TOTP enrolment from the Account page (QR code drawn under the CSP, the otpauth URI read
 *    from the page) and sign-in with codes the test computes itself (RFC 6238,
 *    tests/helpers/totp.ts); a code is never accepted twice; a recovery code works once;
 *  - a password change ends every other session (a second browser context is signed out) and
 *    the new password works; the sessions list shows both sessions before;
 *  - ending one session (the Account page's "End", or DELETE /api/v1/me/sessions/<id>): that
 *    session's cookie is refused from then on, the others keep working;
 *  - REQUIRE_2FA_FOR_ADMINS: an admin without a second factor can do nothing but enrol.
 */
import { type Browser, type Page, request } from "@playwright/test";
import { freshCode, secretFromUri } from "../helpers/totp";
import {
  expect,
  freshClientAddress,
  makeUser,
  PASSWORD,
  signedInContext,
  signInUI,
  sql,
  startExtraDashboard,
  test,
} from "./support";

async function newPage(browser: Browser): Promise<{ page: Page; close: () => Promise<void> }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.setExtraHTTPHeaders({ "X-Forwarded-For": freshClientAddress() });
  return { page, close: () => context.close() };
}

async function passwordStep(page: Page, email: string, password: string) {
  await page.goto("/login");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("TOTP: enrol with the QR code's URI, sign in with computed codes; no code twice; recovery codes once", async ({
  browser,
}) => {
  const user = await makeUser("editor");
  const first = await newPage(browser);
  await signInUI(first.page, user);
  await first.page.goto("/account");
  await expect(first.page.getByTestId("two-factor-status")).toHaveText("off");
  const setup = first.page.getByRole("form", { name: "Set up two-factor sign-in" });
  await setup.getByLabel("Password").fill(user.password);
  await setup.getByRole("button", { name: "Set up" }).click();
  await expect(first.page.getByTestId("totp-qr")).toBeVisible();
  await first.page.getByText("Can't scan it?").click();
  const uri = await first.page.getByTestId("totp-uri").textContent();
  expect(uri).toMatch(/^otpauth:\/\/totp\/OriginGate:/);
  const secret = secretFromUri(uri ?? "");
  const used = new Set<string>();
  const enrolCode = freshCode(secret, used);
  used.add(enrolCode);
  await first.page.getByLabel("Code from the app").fill(enrolCode);
  await first.page.getByRole("button", { name: "Turn on" }).click();
  const recovery = first.page.getByTestId("recovery-codes");
  await expect(recovery).toBeVisible();
  const recoveryCodes = (await recovery.locator("li").allTextContents()).map((c) => c.trim());
  expect(recoveryCodes).toHaveLength(10);
  await expect(first.page.getByTestId("two-factor-status")).toHaveText("on");
  await first.close();

  // A password sign-in now asks for a code; the enrolment's code is refused, a fresh one passes.
  const second = await newPage(browser);
  await passwordStep(second.page, user.email, user.password);
  await expect(second.page.getByLabel("Authentication code")).toBeVisible();
  await second.page.getByLabel("Authentication code").fill(enrolCode);
  await second.page.getByRole("button", { name: "Verify" }).click();
  await expect(second.page.locator(".callout[role=alert]")).toContainText("used already");
  const signInCode = freshCode(secret, used);
  used.add(signInCode);
  await second.page.getByLabel("Authentication code").fill(signInCode);
  await second.page.getByRole("button", { name: "Verify" }).click();
  await second.page.waitForURL(/\/tenants$/);
  await second.close();

  // The same code again, in another sign-in: refused. A recovery code instead: once.
  const third = await newPage(browser);
  await passwordStep(third.page, user.email, user.password);
  await third.page.getByLabel("Authentication code").fill(signInCode);
  await third.page.getByRole("button", { name: "Verify" }).click();
  await expect(third.page.locator(".callout[role=alert]")).toContainText("used already");
  await third.page.getByRole("button", { name: "Use a recovery code instead" }).click();
  await third.page.getByLabel("Recovery code").fill(recoveryCodes[0] ?? "");
  await third.page.getByRole("button", { name: "Verify" }).click();
  await third.page.waitForURL(/\/tenants$/);
  await third.close();

  const fourth = await newPage(browser);
  await passwordStep(fourth.page, user.email, user.password);
  await fourth.page.getByRole("button", { name: "Use a recovery code instead" }).click();
  await fourth.page.getByLabel("Recovery code").fill(recoveryCodes[0] ?? "");
  await fourth.page.getByRole("button", { name: "Verify" }).click();
  await expect(fourth.page.locator(".callout[role=alert]")).toContainText("wrong or was used already");
  await expect(fourth.page).toHaveURL(/\/login/);
  await fourth.close();

  const actions = await sql<{ action: string }>("select action from activity where target = $1 order by id", [
    user.email,
  ]);
  expect(actions.map((a) => a.action)).toEqual([
    "user.create",
    "auth.sign_in",
    "auth.two_factor_enable",
    "auth.sign_in_failed",
    "auth.sign_in",
    "auth.sign_in_failed",
    "auth.sign_in",
    "auth.sign_in_failed",
  ]);
});

test("a password change ends every other session; the new password works", async ({ browser }) => {
  const user = await makeUser("viewer");
  const a = await newPage(browser);
  const b = await newPage(browser);
  await signInUI(a.page, user);
  await signInUI(b.page, user);
  await a.page.goto("/account");
  const sessions = a.page.getByRole("table", { name: "Your sessions" });
  await expect(sessions.locator("tbody tr")).toHaveCount(2);
  await expect(sessions.getByText("this one")).toHaveCount(1);

  const form = a.page.getByRole("form", { name: "Change password" });
  await form.getByLabel("Current password").fill(user.password);
  await form.getByLabel("New password (12+ characters)").fill(`${PASSWORD}-changed`);
  await form.getByLabel("Repeat the new password").fill(`${PASSWORD}-changed`);
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(a.page.getByText("Password changed")).toBeVisible();

  // The other browser is signed out; this one stays.
  await b.page.goto("/tenants");
  await expect(b.page).toHaveURL(/\/login/);
  await a.page.goto("/account");
  await expect(a.page.getByRole("table", { name: "Your sessions" }).locator("tbody tr")).toHaveCount(1);
  await b.close();

  const c = await newPage(browser);
  await signInUI(c.page, { email: user.email, password: `${PASSWORD}-changed` });
  // Sign out everywhere: both remaining sessions end.
  await c.page.goto("/account");
  await c.page.getByRole("button", { name: "Sign out everywhere" }).click();
  await c.page.waitForURL(/\/login/);
  await a.page.goto("/tenants");
  await expect(a.page).toHaveURL(/\/login/);
  await a.close();
  await c.close();
  const actions = await sql<{ action: string }>("select action from activity where target = $1 order by id", [
    user.email,
  ]);
  expect(actions.map((x) => x.action)).toEqual([
    "user.create",
    "auth.sign_in",
    "auth.sign_in",
    "auth.password_change",
    "auth.sign_in",
    "session.revoke_all",
  ]);
});

test("ending one session: its cookie is refused from then on; the others keep working", async ({ browser }) => {
  const user = await makeUser("viewer");
  const a = await newPage(browser);
  const b = await newPage(browser);
  await signInUI(a.page, user);
  await signInUI(b.page, user);
  const api = await signedInContext(user);
  const doomed = await signedInContext(user);
  /** The session a cookie stands for, as the API answers it (its status, and its own entry). */
  const me = async (context: typeof api) => {
    const response = await context.get("/api/v1/me/sessions");
    if (response.status() !== 200) return { status: response.status(), current: null };
    const { sessions } = (await response.json()) as {
      sessions: Array<{ id: string; current: boolean; ipAddress: string | null }>;
    };
    return { status: 200, current: sessions.find((s) => s.current) ?? null };
  };
  const bSession = (await me(b.page.request)).current;
  expect(bSession?.ipAddress).toBeTruthy();

  // The Account page of browser A ends browser B's session with its "End" button.
  await a.page.goto("/account");
  const rows = a.page.getByRole("table", { name: "Your sessions" }).locator("tbody tr");
  await expect(rows).toHaveCount(4);
  await a.page.getByRole("button", { name: `End the session from ${bSession?.ipAddress}` }).click();
  await expect(rows).toHaveCount(3);
  expect((await me(b.page.request)).status).toBe(401);
  await b.page.goto("/tenants");
  await expect(b.page).toHaveURL(/\/login/);
  const [stored] = await sql<{ n: number }>('select count(*)::int as n from "session" where id = $1', [bSession?.id]);
  expect(stored?.n).toBe(0);

  // DELETE /api/v1/me/sessions/<id> from another session ends that one only.
  const doomedId = (await me(doomed)).current?.id;
  expect(doomedId).toBeTruthy();
  const deleted = await api.delete(`/api/v1/me/sessions/${doomedId}`);
  expect(deleted.status(), await deleted.text()).toBe(204);
  expect((await me(doomed)).status).toBe(401);
  expect((await doomed.get("/api/v1/tenants")).status()).toBe(401);

  // The sessions nobody ended still work.
  expect((await me(api)).status).toBe(200);
  await a.page.goto("/tenants");
  await expect(a.page).toHaveURL(/\/tenants$/);
  await a.page.goto("/account");
  await expect(rows).toHaveCount(2);
  const actions = await sql<{ action: string }>(
    "select action from activity where target = $1 and action like 'session.%' order by id",
    [user.email],
  );
  expect(actions.map((x) => x.action)).toEqual(["session.revoke", "session.revoke"]);
  await Promise.all([api.dispose(), doomed.dispose(), a.close(), b.close()]);
});

test("REQUIRE_2FA_FOR_ADMINS: an admin without a second factor can only enrol", async () => {
  const dashboard = await startExtraDashboard({ REQUIRE_2FA_FOR_ADMINS: "true", TRUST_PROXY: "1" });
  const api = await request.newContext({
    baseURL: dashboard.url,
    extraHTTPHeaders: { Origin: dashboard.url, "X-Forwarded-For": freshClientAddress() },
  });
  try {
    const admin = await makeUser("admin");
    expect((await api.post("/api/auth/sign-in/email", { data: admin })).status()).toBe(200);
    const refused = await api.get("/api/v1/tenants");
    expect(refused.status()).toBe(403);
    expect((await refused.json()).error.code).toBe("second_factor_required");
    expect((await (await api.get("/api/v1/me")).json()).secondFactorPending).toBe(true);
    // Any console page shows the set-up panel instead of its content.
    const page = await api.get("/tenants");
    expect(page.status()).toBe(200);
    expect(await page.text()).toContain("second-factor-required");

    const enable = await api.post("/api/auth/two-factor/enable", { data: { password: admin.password } });
    const secret = secretFromUri((await enable.json()).totpURI);
    const verify = await api.post("/api/auth/two-factor/verify-totp", { data: { code: freshCode(secret, new Set()) } });
    expect(verify.status()).toBe(200);
    expect((await api.get("/api/v1/tenants")).status()).toBe(200);
    // A viewer is not concerned.
    const viewer = await makeUser("viewer");
    const other = await request.newContext({
      baseURL: dashboard.url,
      extraHTTPHeaders: { Origin: dashboard.url, "X-Forwarded-For": freshClientAddress() },
    });
    expect((await other.post("/api/auth/sign-in/email", { data: viewer })).status()).toBe(200);
    expect((await other.get("/api/v1/tenants")).status()).toBe(200);
    await other.dispose();
  } finally {
    await api.dispose();
    await dashboard.stop();
  }
});

test("the Activity page lists entries and filters by actor, action and target", async ({ browser }) => {
  const admin = await makeUser("admin");
  const { page, close } = await newPage(browser);
  await signInUI(page, admin);
  // Something of the admin's own to find: a tenant created from the page's API.
  const slug = `act-${Date.now().toString(36)}`;
  const created = await page.request.post("/api/v1/tenants", {
    headers: { Origin: new URL(page.url()).origin },
    data: { slug, name: "Activity page" },
  });
  expect(created.status()).toBe(201);
  await page.goto("/activity");
  const table = page.getByRole("table", { name: "Activity" });
  await expect(table.locator("tbody tr").first()).toBeVisible();
  const form = page.getByRole("form", { name: "Filter the activity log" });
  await form.getByLabel(/^Actor/).fill(admin.email);
  await form.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(new RegExp(`actor=${encodeURIComponent(admin.email)}`));
  await expect(table.locator("tbody tr[data-action='tenant.create']")).toHaveCount(1);
  await expect(table.locator("tbody tr[data-action='auth.sign_in']")).toHaveCount(1);
  // Click an action to narrow to it; then a target nobody touched: the empty state.
  await table.getByRole("button", { name: "tenant.create" }).click();
  await expect(table.locator("tbody tr")).toHaveCount(1);
  await expect(table).toContainText(slug);
  await form.getByLabel(/^Target/).fill("no-such-target");
  await form.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByText("No activity matches")).toBeVisible();
  await close();
});
