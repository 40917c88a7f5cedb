/**
 * Shared helpers of the dashboard's e2e specs. Test data is created straight in the e2e
 * database with the dashboard's own domain functions (same validation, same hashing), and
 * every name is unique, so specs never depend on each other or on order.
 *
 * Specs import `test` and `expect` from here: its `page` waits, after every goto, reload,
 * Back and Forward, until React has hydrated the page (see waitForHydration).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { type APIRequestContext, test as base, expect, type Page, request } from "@playwright/test";
import pg from "pg";
import { freePort } from "../../server/db/pg-server";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import type { Role } from "../../server/domain/auth/permissions";
import { createTenant } from "../../server/domain/tenants/create-tenant";
import { createApiToken } from "../../server/domain/tokens/create-api-token";
import { createUser } from "../../server/domain/users/create-user";
import { enforcingDocument } from "../helpers/policy-documents";

const ROOT = path.resolve(import.meta.dirname, "../..");

/**
 * Waits until React has hydrated every interactive element of the page (each carries React's
 * `__reactFiber$…` key once hydrated). The server's HTML shows buttons and filled inputs before
 * the page's JavaScript has run: a click that lands before hydration does nothing, and a Back
 * taken before it is missed by the page's popstate handler, so a spec that acts as soon as
 * the HTML is visible flakes on a loaded machine. Pages without Next.js scripts pass at once.
 */
export async function waitForHydration(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      if (!document.querySelector('script[src*="/_next/"]')) return true;
      if (document.readyState !== "complete") return false;
      const interactive = document.querySelectorAll("button, a[href], input, select, textarea");
      for (const element of interactive) {
        if (!Object.keys(element).some((key) => key.startsWith("__reactFiber$"))) return false;
      }
      return true;
    },
    undefined,
    { timeout: 30_000 },
  );
}

/** Makes `page` wait for hydration after each navigation it starts (goto, reload, Back, Forward). */
export function hydrationAware(page: Page): Page {
  for (const method of ["goto", "reload", "goBack", "goForward"] as const) {
    const navigate = page[method].bind(page) as (...args: unknown[]) => Promise<unknown>;
    Object.assign(page, {
      [method]: async (...args: unknown[]) => {
        const response = await navigate(...args);
        await waitForHydration(page);
        return response;
      },
    });
  }
  return page;
}

/**
 * `test` with a hydration-aware `page`. E2E_CPU_THROTTLE=<n> slows the page's CPU n times
 * (Chromium's own throttling), to reproduce on a quiet machine what a loaded CI machine does
 * to timing; E2E_NO_HYDRATION_WAIT=1 turns the waits off (to show what they prevent).
 */
export const test = base.extend({
  page: async ({ page }, use) => {
    const throttle = Number(process.env.E2E_CPU_THROTTLE ?? 1);
    if (throttle > 1) {
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("Emulation.setCPUThrottlingRate", { rate: throttle });
    }
    await use(process.env.E2E_NO_HYDRATION_WAIT === "1" ? page : hydrationAware(page));
  },
});
export { expect };

export const PASSWORD = "e2e-password-long-enough";

export function baseURL(): string {
  const url = process.env.E2E_BASE_URL;
  if (!url) throw new Error("E2E_BASE_URL missing: run through `npx playwright test` (global setup)");
  return url;
}

export function databaseUrl(): string {
  const url = process.env.E2E_DATABASE_URL;
  if (!url) throw new Error("E2E_DATABASE_URL missing: run through `npx playwright test` (global setup)");
  return url;
}

let prisma: PrismaClient | undefined;
export function db(): PrismaClient {
  prisma ??= createPrisma(databaseUrl());
  return prisma;
}

export async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
}

export async function makeUser(role: Role): Promise<{ email: string; password: string; id: string }> {
  const email = `${unique(role)}@e2e.example.com`;
  const user = await createUser({ db: db(), input: { email, password: PASSWORD, role, name: `${role} tester` } });
  return { email, password: PASSWORD, id: user.id };
}

export async function makeToken(role: Role): Promise<string> {
  const { token } = await createApiToken({ db: db(), input: { name: unique(`e2e-${role}`), role }, createdById: null });
  return token;
}

export async function makeTenant(origins: string[] = []): Promise<string> {
  const slug = unique("t");
  await createTenant({
    db: db(),
    input: { slug, name: `Tenant ${slug}` },
    actor: { id: null, label: "e2e" },
    document: enforcingDocument(origins),
  });
  return slug;
}

/**
 * Each sign-in comes from its own (forwarded) client address, so the per-address sign-in
 * limit of one spec never throttles another.
 */
export function freshClientAddress(): string {
  const b = randomBytes(3);
  return `10.${b[0]}.${b[1]}.${(b[2] ?? 0) | 1}`;
}

/** An API context signed in with the session cookie; sends the dashboard's Origin like a browser. */
export async function signedInContext(user: { email: string; password: string }): Promise<APIRequestContext> {
  const context = await request.newContext({
    baseURL: baseURL(),
    extraHTTPHeaders: { Origin: baseURL(), "X-Forwarded-For": freshClientAddress() },
  });
  const response = await context.post("/api/auth/sign-in/email", {
    data: { email: user.email, password: user.password },
  });
  expect(response.status(), await response.text()).toBe(200);
  return context;
}

export async function tokenContext(token: string): Promise<APIRequestContext> {
  return request.newContext({ baseURL: baseURL(), extraHTTPHeaders: { Authorization: `Bearer ${token}` } });
}

export async function anonymousContext(): Promise<APIRequestContext> {
  return request.newContext({ baseURL: baseURL(), extraHTTPHeaders: { Origin: baseURL() } });
}

export async function signInUI(page: Page, user: { email: string; password: string }): Promise<void> {
  await page.setExtraHTTPHeaders({ "X-Forwarded-For": freshClientAddress() });
  await page.goto("/login");
  await page.getByLabel("E-mail").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/tenants$/);
  await waitForHydration(page);
}

export async function policyVersion(slug: string): Promise<number> {
  const rows = await sql<{ version: number }>(
    "select p.version from policy p join tenant t on t.id = p.tenant_id where t.slug = $1",
    [slug],
  );
  if (!rows[0]) throw new Error(`no tenant ${slug}`);
  return rows[0].version;
}

/**
 * One more dashboard process on the e2e build and database, with its own environment (e.g.
 * the default TRUST_PROXY=false, which the main e2e dashboard does not use). Stopped by
 * the returned function.
 */
export async function startExtraDashboard(
  env: Record<string, string | undefined> = {},
  options: { port?: number } = {},
): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = options.port ?? (await freePort());
  const url = `http://localhost:${port}`;
  const child = spawn(process.execPath, [path.join(ROOT, "server", "cli", "next-server.mjs"), "--port", String(port)], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl(),
      DASHBOARD_URL: url,
      NEXT_DIST_DIR: ".next-test",
      NEXT_TELEMETRY_DISABLED: "1",
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      TRUST_PROXY: undefined,
      ...env,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`extra dashboard exited with code ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/login`, { redirect: "manual" })).status < 500) return { url, stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error("extra dashboard did not start");
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
