import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Page } from "@playwright/test";
import { createTenant } from "../helpers/fixtures";
import { type RunningProxy, startProxy } from "../helpers/proxies";
import { startUpstream, type Upstream } from "../helpers/upstreams";
import { databaseUrl, expect, makeUser, signInUI, test } from "./support";

// Issue 13: HTTP and Server-Sent Events with the policy's CORS decision, in a real
// Chromium. Pages are served from local servers on distinct origins: the allowed one on
// http://localhost:<port> (same site as the gateway, so a cookie set for localhost rides
// along on credentialed requests), the other on http://127.0.0.1:<port>. The requests go
// to the e2e gateway (`/t/<slug>/...`) and to a real nginx in front of the same upstream
// with docs/deploy/nginx/origingate.conf (forward auth to the same gateway).

let upstream: Upstream;
let nginx: RunningProxy;
let allowedPages: http.Server;
let otherPages: http.Server;
let allowedOrigin: string;
let otherOrigin: string;
let slug: string;
let gatewayHttp: string;

function pageServer(): Promise<{ server: http.Server; port: number }> {
  return new Promise((resolve) => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      res.end("<!doctype html><title>cors page</title><p>test page</p>");
    });
    server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}

/** A credentialed fetch from the page: its status and the upstream's echo, or the browser's error. */
function pageFetch(page: Page, url: string, headers: Record<string, string> = {}, method = "GET") {
  return page.evaluate(
    async ({ url, headers, method }) => {
      try {
        const res = await fetch(url, { credentials: "include", headers, method });
        return { ok: true as const, status: res.status, body: await res.text() };
      } catch (error) {
        return { ok: false as const, error: String(error) };
      }
    },
    { url, headers, method },
  );
}

/** Opens `new EventSource(url, { withCredentials: true })` in the page; events land in window.__events. */
function openEventSource(page: Page, url: string) {
  return page.evaluate((url) => {
    const w = window as unknown as { __events: string[]; __sseState: string };
    w.__events = [];
    w.__sseState = "connecting";
    const source = new EventSource(url, { withCredentials: true });
    source.onopen = () => {
      w.__sseState = "open";
    };
    source.onmessage = (event) => w.__events.push(event.data);
    source.onerror = () => {
      w.__sseState = source.readyState === EventSource.CLOSED ? "closed" : "error";
    };
  }, url);
}

const events = (page: Page) => page.evaluate(() => (window as unknown as { __events: string[] }).__events);
const sseState = (page: Page) => page.evaluate(() => (window as unknown as { __sseState: string }).__sseState);

test.beforeAll(async () => {
  upstream = await startUpstream({ heartbeatMs: 500 });
  const a = await pageServer();
  const b = await pageServer();
  allowedPages = a.server;
  otherPages = b.server;
  allowedOrigin = `http://localhost:${a.port}`;
  otherOrigin = `http://127.0.0.1:${b.port}`;
  const gatewayPort = new URL(process.env.E2E_GATEWAY_URL!).port;
  gatewayHttp = `http://localhost:${gatewayPort}`;
  const tenant = await createTenant(databaseUrl(), {
    upstreamUrl: upstream.wsUrl,
    policy: {
      origins: [allowedOrigin],
      credentials: "allow",
      cors: {
        methods: ["GET", "HEAD", "POST"],
        allowHeaders: ["x-trace-id"],
        exposeHeaders: ["x-total"],
        maxAgeSeconds: 0,
      },
    },
  });
  slug = tenant.slug;
  nginx = await startProxy("nginx", {
    gateway: `127.0.0.1:${gatewayPort}`,
    upstream: `127.0.0.1:${upstream.port}`,
    tenant: slug,
  });
  // The gateway picks the tenant up through NOTIFY; wait until it answers for it.
  await expect
    .poll(async () => (await fetch(`${gatewayHttp}/t/${slug}/ready`, { headers: { Origin: allowedOrigin } })).status, {
      timeout: 15_000,
    })
    .toBe(200);
});

test.afterAll(async () => {
  await nginx?.stop();
  await upstream?.close();
  allowedPages?.close();
  otherPages?.close();
});

for (const via of ["gateway", "nginx"] as const) {
  test.describe(`through the ${via}`, () => {
    const base = () =>
      via === "gateway" ? `${gatewayHttp}/t/${slug}` : nginx.httpUrl.replace("127.0.0.1", "localhost");

    test("an allowed origin: a credentialed fetch and an EventSource with credentials receive their answers", async ({
      page,
      context,
    }) => {
      await context.addCookies([{ name: "sid", value: `cookie-${via}`, domain: "localhost", path: "/" }]);
      await page.goto(allowedOrigin);
      const answer = await pageFetch(page, `${base()}/${via}/fetch`);
      expect(answer.ok, JSON.stringify(answer)).toBe(true);
      if (!answer.ok) return;
      expect(answer.status).toBe(200);
      const echoed = JSON.parse(answer.body) as { headers: Record<string, string> };
      // The cookie rode along: this was a credentialed cross-origin request the browser let the page read.
      expect(echoed.headers.cookie).toBe(`sid=cookie-${via}`);
      expect(echoed.headers.origin).toBe(allowedOrigin);

      const streamsBefore = upstream.streams.size;
      await openEventSource(page, `${base()}/${via}/sse`);
      await expect.poll(() => upstream.streams.size).toBeGreaterThan(streamsBefore);
      await expect.poll(() => sseState(page)).toBe("open");
      for (const n of [1, 2, 3]) {
        upstream.emit(`${via} event ${n}`);
        // Each event reaches the page before the next one is written.
        await expect.poll(() => events(page)).toHaveLength(n);
      }
      expect(await events(page)).toEqual([`${via} event 1`, `${via} event 2`, `${via} event 3`]);
    });

    test("another origin is blocked and the upstream logs nothing", async ({ page }) => {
      await page.goto(otherOrigin);
      const before = upstream.seen.length;
      const answer = await pageFetch(page, `${base()}/${via}/blocked`, {}, "POST");
      expect(answer.ok).toBe(false);
      await openEventSource(page, `${base()}/${via}/blocked/sse`);
      await expect.poll(() => sseState(page)).toBe("closed");
      expect(upstream.seen.length).toBe(before);
    });

    test("a preflight with a custom header passes or fails exactly per policy", async ({ page }) => {
      await page.goto(allowedOrigin);
      const before = upstream.count(`/${via}/preflight`);
      const listed = await pageFetch(page, `${base()}/${via}/preflight`, { "X-Trace-Id": "abc" });
      expect(listed.ok, JSON.stringify(listed)).toBe(true);
      expect(upstream.count(`/${via}/preflight`)).toBe(before + 1); // the actual request, never the OPTIONS
      const unlisted = await pageFetch(page, `${base()}/${via}/preflight`, { "X-Other": "abc" });
      expect(unlisted.ok).toBe(false);
      expect(upstream.count(`/${via}/preflight`)).toBe(before + 1);
      expect(upstream.seen.filter((r) => r.method === "OPTIONS")).toHaveLength(0);
    });
  });
}

test.describe("the tester's HTTP side", () => {
  test("a CORS request and a CORS scan from the tester page", async ({ page }) => {
    const editor = await makeUser("editor");
    await signInUI(page, editor);
    await page.goto(`/tester?tenant=${slug}`);
    await page.getByRole("tab", { name: "HTTP / CORS request" }).click();
    // The allowlist's own origin is prefilled: the answer is granted, with the trace.
    await expect(page.getByLabel("CORS Origin")).toHaveValue(allowedOrigin);
    await page.getByRole("button", { name: "Send request" }).click();
    await expect(page.getByTestId("cors-granted")).toHaveText("a page on this Origin can read the answer");
    await expect(page.getByTestId("cors-trace")).toContainText("allowed");
    // An attacker origin: refused by the gateway before the upstream, not granted.
    await page.getByRole("button", { name: "Attacker origin" }).click();
    await page.getByRole("button", { name: "Send request" }).click();
    await expect(page.getByTestId("cors-granted")).toHaveText("not granted to this Origin");
    await expect(page.getByTestId("cors-result")).toContainText("origin_not_allowed");

    await page.getByRole("tab", { name: "CORS scan" }).click();
    await page.getByRole("button", { name: "Run CORS scan" }).click();
    await expect(page.getByTestId("cors-findings-count")).toHaveText("0", { timeout: 30_000 });
  });
});
