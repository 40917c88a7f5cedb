/**
 * SIEM export through the real product: an admin registers a webhook destination on the
 * dashboard's SIEM page (pointing at a real HTTP server of this test), copies the signing
 * secret it shows once, and the real gateway of the e2e setup streams the next audit events
 * there as NDJSON whose signature checks out with that secret; disabling and removing it
 * from the page stop it. A registration by a name that resolves to loopback is refused with
 * the reason (SPEC §5.2).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import WebSocket from "ws";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature } from "../../server/net/webhook-signature";
import { expect, makeTenant, makeUser, signInUI, sql, test, unique } from "./support";

function gatewayUrl(): string {
  const url = process.env.E2E_GATEWAY_URL;
  if (!url) throw new Error("E2E_GATEWAY_URL missing: run through `npx playwright test` (global setup)");
  return url;
}

function refusedHandshake(slug: string, origin: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${gatewayUrl()}/t/${slug}/x`, { headers: { Origin: origin }, perMessageDeflate: false });
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

interface Delivery {
  body: Buffer;
  timestamp: string | undefined;
  signature: string | undefined;
}

let server: Server;
const deliveries: Delivery[] = [];

test.beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      deliveries.push({
        body: Buffer.concat(chunks),
        timestamp: req.headers[TIMESTAMP_HEADER.toLowerCase()] as string | undefined,
        signature: req.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});

test.afterAll(async () => {
  await new Promise((r) => server.close(r));
});

test("an admin adds a signed webhook destination and the gateway streams events to it", async ({ page }) => {
  await signInUI(page, await makeUser("admin"));
  await page.goto("/siem");
  const form = page.getByRole("form", { name: "Add a SIEM destination" });
  const name = unique("hook");

  // A name that resolves to loopback is refused, and says how to mean it.
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("Kind").selectOption("webhook");
  await form.getByLabel("URL").fill(`http://localhost:${(server.address() as AddressInfo).port}/siem`);
  await form.getByRole("button", { name: "Add destination" }).click();
  await expect(form.getByText(/internal address/)).toBeVisible();

  await form.getByLabel("URL").fill(`http://127.0.0.1:${(server.address() as AddressInfo).port}/siem`);
  await form.getByRole("button", { name: "Add destination" }).click();
  const shown = page.getByTestId("new-siem-secret");
  await expect(shown).toContainText(name);
  const secret = (await shown.locator("code").textContent())?.trim() ?? "";
  expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByText(secret)).toHaveCount(0);
  const table = page.getByRole("table", { name: "SIEM destinations" });
  await expect(table.getByRole("row", { name: new RegExp(name) })).toContainText("enabled");

  // The gateway picks the destination up within seconds; refusals from now on reach it.
  const slug = await makeTenant(["https://app.example.com"]);
  const origin = `https://${unique("probe")}.example.net`;
  // The gateway knows the new tenant once its refusal is a policy one (not 404 tenant_unknown).
  await expect.poll(() => refusedHandshake(slug, origin), { timeout: 15_000 }).toBe(403);
  let events: Array<Record<string, unknown>> = [];
  await expect
    .poll(
      async () => {
        await refusedHandshake(slug, origin);
        events = deliveries.flatMap((d) => {
          const check = verifyWebhookSignature({
            secret,
            body: d.body,
            timestamp: d.timestamp,
            signature: d.signature,
          });
          expect(check).toEqual({ ok: true });
          return d.body
            .toString("utf8")
            .split("\n")
            .filter(Boolean)
            .map((line) => JSON.parse(line) as Record<string, unknown>);
        });
        return events.some((e) => e.tenant === slug && e.origin === origin);
      },
      { timeout: 30_000, intervals: [1000] },
    )
    .toBe(true);
  const event = events.find((e) => e.tenant === slug)!;
  expect(event).toMatchObject({ type: "event", decision: "rejected", reason: "origin_not_allowed" });
  const [row] = await sql<{ id: string }>("select id::text as id from audit_event where id = $1", [event.id]);
  expect(row?.id).toBe(event.id);

  // Disabled, then removed, from the page.
  await page.getByRole("button", { name: `Disable ${name}` }).click();
  await expect(table.getByRole("row", { name: new RegExp(name) })).toContainText("disabled");
  const [disabled] = await sql<{ enabled: boolean }>("select enabled from siem_destination where name = $1", [name]);
  expect(disabled?.enabled).toBe(false);
  await page.getByRole("button", { name: `Remove ${name}` }).click();
  await page.getByRole("button", { name: "Confirm remove" }).click();
  await expect(table.getByRole("row", { name: new RegExp(name) })).toHaveCount(0);
  expect(await sql("select 1 from siem_destination where name = $1", [name])).toEqual([]);
});
