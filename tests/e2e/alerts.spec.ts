/**
 * Alerts through the real product: an admin registers a webhook on the Alerts page (pointing
 * at a real HTTP server of this test), copies the signing secret it shows once, presses "Send
 * test", and the receiver gets a signed JSON test message whose HMAC checks out with that
 * secret; the delivery log on the page shows it delivered, and the activity log records it.
 * A receiver that answers 500 shows as a failed attempt waiting for its retry. A webhook named
 * by a host that resolves to loopback is refused with the reason (SPEC §5.2), and a rule added
 * on the page is stored with its thresholds.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature } from "../../server/net/webhook-signature";
import { expect, makeUser, signInUI, sql, test, unique } from "./support";

interface Received {
  path: string;
  body: string;
  timestamp: string | undefined;
  signature: string | undefined;
}

let server: Server;
const received: Received[] = [];

test.beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({
        path: req.url ?? "/",
        body: Buffer.concat(chunks).toString("utf8"),
        timestamp: req.headers[TIMESTAMP_HEADER.toLowerCase()] as string | undefined,
        signature: req.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined,
      });
      res.writeHead(req.url === "/broken" ? 500 : 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});

test.afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const port = () => (server.address() as AddressInfo).port;

test("an admin adds a webhook and “Send test” delivers a signed message", async ({ page }) => {
  const admin = await makeUser("admin");
  await signInUI(page, admin);
  await page.goto("/alerts");
  const form = page.getByRole("form", { name: "Add an alert webhook" });
  const name = unique("pager");

  // A name that resolves to loopback is refused, and says how to mean it.
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("URL").fill(`http://localhost:${port()}/hook`);
  await form.getByRole("button", { name: "Add webhook" }).click();
  await expect(form.getByText(/internal address/)).toBeVisible();

  await form.getByLabel("URL").fill(`http://127.0.0.1:${port()}/hook`);
  await form.getByRole("button", { name: "Add webhook" }).click();
  const shown = page.getByTestId("new-alert-secret");
  await expect(shown).toContainText(name);
  const secret = (await shown.locator("code").textContent())?.trim() ?? "";
  expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByText(secret)).toHaveCount(0);
  const [stored] = await sql<{ secret: string }>("select secret from alert_webhook where name = $1", [name]);
  expect(stored?.secret.startsWith("enc:v1:")).toBe(true); // sealed at rest with SECRETS_KEY

  await page.getByRole("button", { name: `Send test to ${name}` }).click();
  await expect.poll(() => received.filter((r) => r.path === "/hook").length, { timeout: 15_000 }).toBe(1);
  const message = received.find((r) => r.path === "/hook")!;
  expect(
    verifyWebhookSignature({ secret, body: message.body, timestamp: message.timestamp, signature: message.signature }),
  ).toEqual({ ok: true });
  expect(JSON.parse(message.body)).toMatchObject({ type: "test", event: "test", webhook: { name } });

  const log = page.getByRole("table", { name: "Delivery log" });
  const row = log.getByRole("row", { name: new RegExp(name) }).first();
  await expect(row).toContainText("delivered");
  await expect(row).toContainText("HTTP 204");
  const activity = await sql<{ action: string; actor: string }>(
    "select action, actor from activity where target = $1 order by id",
    [name],
  );
  expect(activity.map((a) => a.action)).toEqual(["alert_webhook.create", "alert_webhook.test"]);
  expect(activity.every((a) => a.actor === admin.email)).toBe(true);
});

test("a receiver that answers 500 shows as a failed attempt waiting for its retry", async ({ page }) => {
  await signInUI(page, await makeUser("admin"));
  await page.goto("/alerts");
  const form = page.getByRole("form", { name: "Add an alert webhook" });
  const name = unique("broken");
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("URL").fill(`http://127.0.0.1:${port()}/broken`);
  await form.getByRole("button", { name: "Add webhook" }).click();
  await expect(page.getByTestId("new-alert-secret")).toContainText(name);
  await page.getByRole("button", { name: `Send test to ${name}` }).click();
  const row = page
    .getByRole("table", { name: "Delivery log" })
    .getByRole("row", { name: new RegExp(name) })
    .first();
  await expect(row).toContainText("pending");
  await expect(row).toContainText("HTTP 500");
  const [delivery] = await sql<{ attempts: number; status: string }>(
    `select d.attempts, d.status::text as status from alert_delivery d join alert_webhook w on w.id = d.webhook_id
      where w.name = $1`,
    [name],
  );
  expect(delivery).toEqual({ attempts: 1, status: "pending" });
});

test("an admin adds a rule for one tenant with its thresholds", async ({ page }) => {
  await signInUI(page, await makeUser("admin"));
  await page.goto("/alerts");
  const form = page.getByRole("form", { name: "Add an alert rule" });
  const name = unique("spike");
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("Kind").selectOption("rejection_spike");
  await form.getByLabel("Thresholds (JSON)").fill('{"windowMinutes":10,"minCount":50}');
  await form.getByRole("button", { name: "Add rule" }).click();
  const row = page.getByRole("table", { name: "Alert rules" }).getByRole("row", { name: new RegExp(name) });
  await expect(row).toContainText("Rejection spike against a baseline");
  await expect(row).toContainText('"minCount": 50');
  const [stored] = await sql<{ params: Record<string, number> }>("select params from alert_rule where name = $1", [
    name,
  ]);
  expect(stored?.params).toEqual({ windowMinutes: 10, baselineHours: 24, factor: 3, minCount: 50 });

  // Invalid thresholds are refused with the field that is wrong, nothing stored.
  const bad = unique("bad");
  await form.getByLabel("Name").fill(bad);
  await form.getByLabel("Thresholds (JSON)").fill('{"windowMinutes":0}');
  await form.getByRole("button", { name: "Add rule" }).click();
  await expect(form.getByText(/params\.windowMinutes/)).toBeVisible();
  expect(await sql("select 1 from alert_rule where name = $1", [bad])).toEqual([]);
});
