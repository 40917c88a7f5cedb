/**
 * Sign-in attacks against the real dashboard (next-server.mjs on the e2e build) and Chromium:
 *
 * - open redirect: `/login?next=/%09/<other host>` must never take the browser off the
 *   dashboard's origin — neither the server's redirect of a signed-in visitor nor the page's
 *   navigation after a fresh sign-in; `next=/%0a…` falls back instead of answering 500;
 * - password spraying with a rotating X-Forwarded-For, against a dashboard with the default
 *   TRUST_PROXY=false (XFF ignored: the TCP peer is the client) and behind one trusted hop
 *   (the right-most entry is the client, whatever the client wrote to its left);
 * - lockout as a weapon: a flood of wrong passwords from elsewhere never blocks the real
 *   user's right password from their own address, while every guessing address is slowed
 *   (per account and address, per address, and per account under attack).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type APIRequestContext, request } from "@playwright/test";
import { SIGN_IN_LIMITS } from "../../app/_lib/auth/sign-in-limits";
import {
  anonymousContext,
  baseURL,
  expect,
  freshClientAddress,
  makeUser,
  signedInContext,
  startExtraDashboard,
  test,
  unique,
} from "./support";

/** A second site on another origin that records every request it gets. */
async function attackerSite(): Promise<{ origin: string; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? "");
    res.writeHead(200, { "Content-Type": "text/html" }).end("<h1>attacker</h1>");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, hits, close: () => new Promise((r) => server.close(() => r())) };
}

function signIn(context: APIRequestContext, email: string, password: string, address: string) {
  return context.post("/api/auth/sign-in/email", {
    headers: { "X-Forwarded-For": address },
    data: { email, password },
    failOnStatusCode: false,
  });
}

test.describe("open redirect after sign-in", () => {
  test("a fresh sign-in with next=/%09/<other host> stays on the dashboard", async ({ page }) => {
    const attacker = await attackerSite();
    try {
      const user = await makeUser("viewer");
      await page.setExtraHTTPHeaders({ "X-Forwarded-For": freshClientAddress() });
      const host = new URL(attacker.origin).host;
      await page.goto(`/login?next=/%09/${host}/stolen`);
      await page.getByLabel("E-mail").fill(user.email);
      await page.getByLabel("Password").fill(user.password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL((url) => url.pathname === "/tenants" || url.host === host);
      await expect(page.getByRole("heading", { name: "Tenants" })).toBeVisible();
      expect(new URL(page.url()).origin).toBe(baseURL());
      expect(attacker.hits).toEqual([]);
    } finally {
      await attacker.close();
    }
  });

  test("a signed-in visit to /login?next=/%09/<other host> is redirected to the default page", async ({ page }) => {
    const attacker = await attackerSite();
    try {
      const user = await makeUser("viewer");
      await page.setExtraHTTPHeaders({ "X-Forwarded-For": freshClientAddress() });
      await page.goto("/login");
      await page.getByLabel("E-mail").fill(user.email);
      await page.getByLabel("Password").fill(user.password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(/\/tenants$/);

      const host = new URL(attacker.origin).host;
      for (const next of [`/%09/${host}/stolen`, `/%5C${host}/stolen`, `/.//${host}/stolen`, `//${host}/stolen`]) {
        const direct = await page.request.get(`/login?next=${next}`, { maxRedirects: 0 });
        expect(direct.status(), next).toBe(307);
        expect(direct.headers().location, next).toBe("/tenants");
        await page.goto(`/login?next=${next}`);
        await page.waitForURL((url) => url.pathname === "/tenants" || url.host === host);
        expect(new URL(page.url()).origin, next).toBe(baseURL());
      }
      expect(attacker.hits).toEqual([]);

      // A genuine path of the dashboard is kept, query included.
      const kept = await page.request.get(`/login?next=${encodeURIComponent("/audit?decision=rejected")}`, {
        maxRedirects: 0,
      });
      expect(kept.headers().location).toBe("/audit?decision=rejected");
    } finally {
      await attacker.close();
    }
  });

  test("/login?next=/%0a… falls back to the default page (signed in) or the form (anonymous), never a 500", async () => {
    const values = ["/%0a/evil.example", "/%0d%0aSet-Cookie:%20x=1", "/x%0a"];
    const anonymous = await anonymousContext();
    for (const next of values) {
      const response = await anonymous.get(`/login?next=${next}`, { maxRedirects: 0 });
      expect(response.status(), next).toBe(200);
    }
    await anonymous.dispose();
    const session = await signedInContext(await makeUser("viewer"));
    for (const next of values) {
      const response = await session.get(`/login?next=${next}`, { maxRedirects: 0 });
      expect(response.status(), next).toBe(307);
      // A path of the dashboard, the line breaks gone (nothing else reaches the headers).
      expect(response.headers().location, next).toMatch(/^\/[^/\\\s]*$/);
      expect(response.headers()["set-cookie"] ?? "", next).not.toContain("x=1");
    }
    await session.dispose();
  });
});

test.describe("password spraying with a rotating X-Forwarded-For", () => {
  test("TRUST_PROXY=false (default): the forwarded header is ignored, the spraying address is limited", async () => {
    const dashboard = await startExtraDashboard();
    const context = await request.newContext({ baseURL: dashboard.url, extraHTTPHeaders: { Origin: dashboard.url } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i <= SIGN_IN_LIMITS.addressMax + 2; i++) {
        const response = await signIn(
          context,
          `${unique("spray")}@e2e.example.com`,
          "spring-2026-password",
          `198.51.100.${i % 250}`,
        );
        statuses.push(response.status());
      }
      expect(
        statuses.slice(0, SIGN_IN_LIMITS.addressMax).every((s) => s === 401),
        statuses.join(" "),
      ).toBe(true);
      expect(statuses.slice(SIGN_IN_LIMITS.addressMax)).toEqual([429, 429, 429]);
    } finally {
      await context.dispose();
      await dashboard.stop();
    }
  });

  test("behind one trusted hop: the right-most entry is the client, whatever is written before it", async () => {
    const context = await anonymousContext();
    const real = freshClientAddress();
    const statuses: number[] = [];
    for (let i = 0; i <= SIGN_IN_LIMITS.addressMax; i++) {
      const response = await signIn(
        context,
        `${unique("spray")}@e2e.example.com`,
        "spring-2026-password",
        `203.0.113.${i % 250}, ${real}`,
      );
      statuses.push(response.status());
    }
    expect(statuses.slice(0, SIGN_IN_LIMITS.addressMax).every((s) => s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    // Another client behind the same proxy is not affected.
    const user = await makeUser("viewer");
    expect((await signIn(context, user.email, user.password, `203.0.113.9, ${freshClientAddress()}`)).status()).toBe(
      200,
    );
    await context.dispose();
  });
});

test.describe("lockout as a weapon", () => {
  test("a wrong-password flood from many addresses does not block the right password from the user's address", async () => {
    const user = await makeUser("admin");
    const context = await anonymousContext();
    const flood = SIGN_IN_LIMITS.accountUnderAttack + 5;
    for (let i = 0; i < flood; i++) {
      const response = await signIn(context, user.email, "wrong-password-guess", freshClientAddress());
      expect(response.status(), `guess ${i}`).toBe(401);
    }
    // Ten more from one attacker address: it is slowed, the account is not locked.
    const attacker = freshClientAddress();
    const fromAttacker: number[] = [];
    for (let i = 0; i < 10; i++) {
      fromAttacker.push((await signIn(context, user.email, "wrong-password-guess", attacker)).status());
    }
    expect(fromAttacker).toContain(429);
    const right = await signIn(context, user.email, user.password, freshClientAddress());
    expect(right.status(), await right.text()).toBe(200);
    await context.dispose();
  });

  test("per account and address: the free guesses, then backoff with Retry-After; other addresses unaffected", async () => {
    const user = await makeUser("viewer");
    const context = await anonymousContext();
    const address = freshClientAddress();
    for (let i = 0; i < SIGN_IN_LIMITS.pairFree; i++) {
      expect((await signIn(context, user.email, "wrong-password-guess", address)).status()).toBe(401);
    }
    const limited = await signIn(context, user.email, user.password, address);
    expect(limited.status()).toBe(429);
    const retryAfter = Number(limited.headers()["retry-after"]);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(SIGN_IN_LIMITS.baseDelaySeconds);
    expect((await limited.json()).message).toMatch(/Try again in \d+ seconds/);
    expect((await signIn(context, user.email, user.password, freshClientAddress())).status()).toBe(200);
    await context.dispose();
  });

  test("an account under attack: an address that failed waits; a new one gets one guess; a known one is exempt", async () => {
    const user = await makeUser("editor");
    const context = await anonymousContext();
    const known = freshClientAddress();
    expect((await signIn(context, user.email, user.password, known)).status()).toBe(200);
    const guessers: string[] = [];
    for (let i = 0; i < SIGN_IN_LIMITS.accountUnderAttack; i++) {
      const address = freshClientAddress();
      guessers.push(address);
      expect((await signIn(context, user.email, "wrong-password-guess", address)).status()).toBe(401);
    }
    // Each guessing address has one failure (far below its own free guesses) yet waits now.
    const second = await signIn(context, user.email, "wrong-password-guess", guessers[0]!);
    expect(second.status()).toBe(429);
    expect(Number(second.headers()["retry-after"])).toBeGreaterThan(SIGN_IN_LIMITS.baseDelaySeconds);
    // A new address still gets its guess, and is then slowed like the others.
    const fresh = freshClientAddress();
    expect((await signIn(context, user.email, "wrong-password-guess", fresh)).status()).toBe(401);
    expect((await signIn(context, user.email, "wrong-password-guess", fresh)).status()).toBe(429);
    // The user's known address may even mistype once and still get in.
    expect((await signIn(context, user.email, "typo-password-x", known)).status()).toBe(401);
    expect((await signIn(context, user.email, user.password, known)).status()).toBe(200);
    await context.dispose();
  });

  test("a signed-in session works normally after all that", async () => {
    const user = await makeUser("viewer");
    const session = await signedInContext(user);
    expect((await session.get("/api/v1/me")).status()).toBe(200);
    await session.dispose();
  });
});
