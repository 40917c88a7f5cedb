/**
 * Single sign-on end to end: a real OpenID Connect provider (the `oidc-provider` package,
 * tests/helpers/oidc-idp.ts) on a loopback port, a dashboard process configured for it
 * (OIDC_* variables) on the e2e build and database, and Debian's Chromium clicking through
 * the redirect flow under the dashboard's Content-Security-Policy.
 *
 *  - a user whose group maps to admin signs in and is an admin; one mapped to editor is one;
 *  - a user whose groups map to no role is refused, and the login page says why;
 *  - an unverified e-mail is refused; a domain not allowed is refused;
 *  - an existing password account with the same e-mail is never linked: refused, explained,
 *    and the password account is untouched (no provider account attached, still no SSO session);
 *  - every outcome is in the activity log; PASSWORD_SIGN_IN=false takes the password form away.
 */
import type { Browser } from "@playwright/test";
import { freePort } from "../../server/db/pg-server";
import { startTestIdp, type TestIdp } from "../helpers/oidc-idp";
import { expect, freshClientAddress, makeUser, sql, startExtraDashboard, test, unique } from "./support";

let idp: TestIdp;
let dashboard: { url: string; stop: () => Promise<void> };
const domain = `${unique("corp")}.example`;

test.beforeAll(async () => {
  const port = await freePort();
  idp = await startTestIdp({ redirectUri: `http://localhost:${port}/api/auth/callback/oidc` });
  dashboard = await startExtraDashboard(
    {
      TRUST_PROXY: "1",
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: idp.clientId,
      OIDC_CLIENT_SECRET: idp.clientSecret,
      OIDC_ALLOWED_DOMAINS: domain,
      OIDC_ROLE_CLAIM: "groups",
      OIDC_ROLE_MAP: "og-admins=admin,og-editors=editor",
      OIDC_SCOPES: "openid email profile groups",
      OIDC_PROVIDER_NAME: "Corp SSO",
    },
    { port },
  );
});

test.afterAll(async () => {
  await dashboard?.stop();
  await idp?.stop();
});

/** Clicks through the whole flow in a fresh browser context; returns the page where it ended. */
async function ssoSignIn(browser: Browser, account: string) {
  // Each flow from its own client address (TRUST_PROXY=1): Better Auth allows 3 sign-in starts per 10 s per address.
  const context = await browser.newContext({ extraHTTPHeaders: { "X-Forwarded-For": freshClientAddress() } });
  const page = await context.newPage();
  await page.goto(`${dashboard.url}/login`);
  await page.getByRole("button", { name: "Sign in with Corp SSO" }).click();
  await page.waitForURL(`${idp.issuer}/interaction/**`);
  await page.getByLabel("Account").fill(account);
  await page.getByRole("button", { name: "Sign in at the IdP" }).click();
  await page.waitForURL((url) => url.origin === dashboard.url && !url.pathname.startsWith("/api/"));
  return { page, close: () => context.close() };
}

async function activity(email: string): Promise<Array<{ action: string; summary: string }>> {
  return sql("select action, summary from activity where target = $1 order by id", [email]);
}

test("a user whose group maps to admin signs in as admin; editor as editor", async ({ browser }) => {
  const admin = unique("alice");
  idp.accounts.set(admin, {
    email: `${admin}@${domain}`,
    email_verified: true,
    name: "Alice",
    groups: ["og-admins", "x"],
  });
  const editor = unique("frank");
  idp.accounts.set(editor, { email: `${editor}@${domain}`, email_verified: true, groups: ["og-editors"] });

  const first = await ssoSignIn(browser, admin);
  await expect(first.page).toHaveURL(/\/tenants$/);
  await expect(first.page.getByTestId("current-role")).toHaveText("admin");
  await first.close();
  const [row] = await sql<{ role: string; provider_id: string }>(
    `select u.role, a.provider_id from "user" u join account a on a.user_id = u.id where u.email = $1`,
    [`${admin}@${domain}`],
  );
  expect(row).toEqual({ role: "admin", provider_id: "oidc" });
  expect((await activity(`${admin}@${domain}`)).map((e) => e.action)).toEqual(["user.create", "auth.sign_in"]);

  const second = await ssoSignIn(browser, editor);
  await expect(second.page.getByTestId("current-role")).toHaveText("editor");
  await second.close();

  // The provider is the source of truth: moved to another group, the role follows at the next sign-in.
  idp.accounts.set(editor, { email: `${editor}@${domain}`, email_verified: true, groups: ["og-admins"] });
  const third = await ssoSignIn(browser, editor);
  await expect(third.page.getByTestId("current-role")).toHaveText("admin");
  await third.close();
  expect((await activity(`${editor}@${domain}`)).map((e) => e.action)).toEqual([
    "user.create",
    "auth.sign_in",
    "user.role_change",
    "auth.sign_in",
  ]);
});

test("a user whose groups map to no role is refused, and the login page explains it", async ({ browser }) => {
  const bob = unique("bob");
  idp.accounts.set(bob, { email: `${bob}@${domain}`, email_verified: true, groups: ["marketing"] });
  const { page, close } = await ssoSignIn(browser, bob);
  await expect(page).toHaveURL(/\/login\?error=no_role/);
  await expect(page.getByTestId("sso-error")).toContainText("none of your groups gives you a role");
  // No account, no session.
  expect(await sql(`select 1 from "user" where email = $1`, [`${bob}@${domain}`])).toHaveLength(0);
  await page.goto(`${dashboard.url}/tenants`);
  await expect(page).toHaveURL(/\/login/);
  await close();
  expect(await activity(`${bob}@${domain}`)).toEqual([
    { action: "auth.sign_in_failed", summary: "Single sign-on refused: no_role" },
  ]);
});

test("an unverified e-mail and a domain not allowed are refused", async ({ browser }) => {
  const carol = unique("carol");
  idp.accounts.set(carol, { email: `${carol}@${domain}`, email_verified: false, groups: ["og-admins"] });
  const unverified = await ssoSignIn(browser, carol);
  await expect(unverified.page).toHaveURL(/\/login\?error=email_not_verified/);
  await expect(unverified.page.getByTestId("sso-error")).toContainText("verified");
  await unverified.close();

  const dave = unique("dave");
  idp.accounts.set(dave, { email: `${dave}@elsewhere.example`, email_verified: true, groups: ["og-admins"] });
  const foreign = await ssoSignIn(browser, dave);
  await expect(foreign.page).toHaveURL(/\/login\?error=domain_not_allowed/);
  await expect(foreign.page.getByTestId("sso-error")).toContainText("domain");
  await foreign.close();
  expect(
    await sql(`select 1 from "user" where email in ($1, $2)`, [`${carol}@${domain}`, `${dave}@elsewhere.example`]),
  ).toHaveLength(0);
});

test("an existing password account with the same e-mail is not linked; the page explains it", async ({ browser }) => {
  const existing = await makeUser("viewer");
  // The password user's e-mail, at the allowed domain, verified, and in the admins' group.
  const email = `${unique("erin")}@${domain}`;
  await sql(`update "user" set email = $1 where id = $2`, [email, existing.id]);
  const erin = unique("erin-idp");
  idp.accounts.set(erin, { email, email_verified: true, groups: ["og-admins"] });
  const { page, close } = await ssoSignIn(browser, erin);
  await expect(page).toHaveURL(/\/login\?error=account_not_linked/);
  await expect(page.getByTestId("sso-error")).toContainText("never attached to it automatically");
  await close();
  const accounts = await sql<{ provider_id: string }>("select provider_id from account where user_id = $1", [
    existing.id,
  ]);
  expect(accounts.map((a) => a.provider_id)).toEqual(["credential"]);
  const [user] = await sql<{ role: string }>(`select role from "user" where id = $1`, [existing.id]);
  expect(user?.role).toBe("viewer");
  expect(await sql("select 1 from session where user_id = $1", [existing.id])).toHaveLength(0);
  expect((await activity(email)).at(-1)?.summary).toBe("Single sign-on refused: account_not_linked");
});

test("PASSWORD_SIGN_IN=false: only single sign-on is offered, and the password endpoint is off", async ({
  browser,
}) => {
  const port = await freePort();
  const ssoOnlyIdp = await startTestIdp({ redirectUri: `http://localhost:${port}/api/auth/callback/oidc` });
  const ssoOnly = await startExtraDashboard(
    {
      OIDC_ISSUER: ssoOnlyIdp.issuer,
      OIDC_CLIENT_ID: ssoOnlyIdp.clientId,
      OIDC_CLIENT_SECRET: ssoOnlyIdp.clientSecret,
      OIDC_ALLOWED_DOMAINS: domain,
      OIDC_DEFAULT_ROLE: "viewer",
      PASSWORD_SIGN_IN: "false",
    },
    { port },
  );
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${ssoOnly.url}/login`);
    await expect(page.getByRole("button", { name: "Sign in with single sign-on" })).toBeVisible();
    await expect(page.getByLabel("Password")).toHaveCount(0);
    const user = await makeUser("admin");
    const response = await fetch(`${ssoOnly.url}/api/auth/sign-in/email`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: ssoOnly.url },
      body: JSON.stringify({ email: user.email, password: user.password }),
    });
    expect(response.status).toBe(404);
    await context.close();
  } finally {
    await ssoOnly.stop();
    await ssoOnlyIdp.stop();
  }
});
