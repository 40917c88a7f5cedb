import type { Page } from "@playwright/test";
import { canaryBucket } from "../../server/policy-store/staged-policy";
import { handshake } from "../helpers/gateway";
import { expect, makeTenant, makeUser, policyVersion, signInUI, sql, test } from "./support";

// Issue 14 items 2 and 5 in the dashboard, in Chromium: a draft published as shadow changes
// nothing for clients, the Gateways page shows which version each gateway applies, and
// promote makes it real; the whole flow draft → preview → shadow → canary (a percentage of
// clients, with a guard) → promote under one version number; with approvals required, the author's save waits and the author
// cannot approve it, a second person sees the diff and the change's impact on the recorded
// traffic (the same figures as the impact API) and approves, and then it is enforced.

const KEPT = "https://kept.example.com";
const ADDED = "https://added.example.com";

/** Handshakes made per origin and status (what the audit trail must then hold). */
const made = new Map<string, number>();

async function status(slug: string, origin: string): Promise<number> {
  const outcome = await handshake(`${process.env.E2E_GATEWAY_URL}/t/${slug}/rollout`, { origin });
  outcome.ws?.close();
  const key = `${slug} ${origin} ${outcome.status}`;
  made.set(key, (made.get(key) ?? 0) + 1);
  return outcome.status;
}

/** Waits until the audit trail holds the handshakes `origin` made with `decision` (policy-judged ones). */
async function recorded(slug: string, origin: string, decision: "accepted" | "rejected", n: number): Promise<void> {
  await expect
    .poll(
      async () =>
        Number(
          (
            await sql<{ n: string }>(
              "select coalesce(sum(count), 0)::text as n from audit_event where tenant = $1 and origin = $2 and decision = $3 and kind = 'handshake' and token_state is not null",
              [slug, origin, decision],
            )
          )[0]?.n,
        ),
      { timeout: 15_000 },
    )
    .toBe(n);
}

async function addOrigin(page: Page, origin: string) {
  const pattern = page.getByLabel("Origin pattern");
  await pattern.fill(origin);
  await pattern.press("Enter");
  await expect(page.getByRole("table", { name: "Allowlist" }).getByText(origin)).toBeVisible();
}

test("publish a draft as shadow, see it on the Gateways page, promote it", async ({ page }) => {
  const slug = await makeTenant([KEPT]);
  await expect.poll(() => status(slug, KEPT), { timeout: 10_000 }).toBe(101);
  await signInUI(page, await makeUser("editor"));
  await page.goto(`/tenants/${slug}`);
  await addOrigin(page, ADDED);
  await page.getByLabel("Comment").fill("try added in shadow");
  await page.getByRole("button", { name: "Publish as shadow" }).click();

  const panel = page.getByTestId("rollout-panel");
  await expect(panel.getByTestId("rollout-stage")).toHaveText("shadow");
  await expect(panel).toContainText("try added in shadow");
  // The active version is unchanged, for the API and for clients.
  await expect(page.getByTestId("policy-version")).toHaveText("v1");
  expect(await policyVersion(slug)).toBe(1);
  expect(await status(slug, ADDED)).toBe(403);

  // The shadow decision lands on the audit trail and in the panel's summary per origin.
  await expect(async () => {
    expect(await status(slug, ADDED)).toBe(403);
    await expect(panel.getByTestId("shadow-summary")).toContainText(ADDED, { timeout: 1000 });
  }).toPass({ timeout: 20_000 });

  // The Gateways page says the gateway applies v2 as shadow.
  await page.goto("/gateways");
  await page.getByRole("table", { name: "Gateway instances" }).getByRole("button", { name: "Tenants" }).first().click();
  await expect(
    page
      .getByRole("table", { name: /Versions enforced by/ })
      .first()
      .getByRole("row", { name: new RegExp(slug) }),
  ).toContainText("v2 shadow", { timeout: 20_000 });

  await page.goto(`/tenants/${slug}`);
  await page.getByTestId("rollout-panel").getByRole("button", { name: "Promote to active" }).click();
  await expect(page.getByTestId("rollout-panel")).toHaveCount(0);
  await expect(page.getByTestId("policy-version")).toHaveText("v2");
  await expect.poll(() => status(slug, ADDED), { timeout: 10_000 }).toBe(101);
  const steps = await sql<{ action: string }>(
    "select s.action from policy_rollout_step s join policy_rollout r on r.id = s.rollout_id join tenant t on t.id = r.tenant_id where t.slug = $1 order by s.id",
    [slug],
  );
  expect(steps.map((s) => s.action)).toEqual(["shadow", "promoted"]);

  // The History tab says how v2 came: published as shadow, then promoted.
  await page.goto(`/tenants/${slug}?tab=history`);
  const revisions = page.getByRole("table", { name: "Revisions" });
  await expect(revisions.getByRole("row").filter({ hasText: "v2" }).getByTestId("revision-stage")).toHaveText(
    "published as shadow · promoted",
  );
  await expect(revisions.getByRole("row").filter({ hasText: "v1" }).getByTestId("revision-stage")).toHaveCount(0);
});

test("draft → preview → shadow → canary → promote in the dashboard, under one version number", async ({ page }) => {
  const slug = await makeTenant([KEPT]);
  await expect.poll(() => status(slug, KEPT), { timeout: 10_000 }).toBe(101);
  for (let i = 0; i < 2; i++) expect(await status(slug, ADDED)).toBe(403);
  await recorded(slug, ADDED, "rejected", 2);
  const editor = await makeUser("editor");
  await signInUI(page, editor);
  await page.goto(`/tenants/${slug}`);

  // Draft and preview: the save bar replays the recorded traffic against the draft.
  await addOrigin(page, ADDED);
  await expect(page.getByTestId("impact-allowed")).toHaveText(`would newly admit 2 connections from ${ADDED}`);

  // Shadow.
  await page.getByLabel("Comment").fill("try added");
  await page.getByRole("button", { name: "Publish as shadow" }).click();
  const panel = page.getByTestId("rollout-panel");
  await expect(panel.getByTestId("rollout-stage")).toHaveText("shadow");
  expect(await status(slug, ADDED)).toBe(403);

  // Canary for a share of client addresses that covers this test's client (its bucket, as the gateway hashes it).
  const [client] = await sql<{ remote_addr: string }>(
    "select remote_addr from audit_event where tenant = $1 and kind = 'handshake' limit 1",
    [slug],
  );
  const percent = canaryBucket(client!.remote_addr) + 1;
  expect(percent).toBeLessThanOrEqual(99);
  await panel.getByRole("button", { name: "Move to canary…" }).click();
  const form = panel.getByTestId("canary-form");
  await expect(form.getByRole("button", { name: "Move to canary", exact: true })).toBeDisabled();
  await form.getByLabel("% of clients").fill(String(percent));
  await form.getByLabel("Guard: abort above new refusals/min").fill("100");
  await panel.getByLabel("Comment").fill("to canary");
  await form.getByRole("button", { name: "Move to canary", exact: true }).click();
  await expect(panel.getByTestId("rollout-stage")).toHaveText("canary");
  await expect(panel).toContainText("Version 2");
  await expect(panel).toContainText(`enforced for ${percent}% of clients`);
  await expect(panel).toContainText("guard: abort above 100 new refusals/min");
  await expect(panel.getByRole("listitem").filter({ hasText: "to canary" })).toContainText(`canary by ${editor.email}`);
  // Still v1 for the API; this client is in the canary's share: the gateway admits ADDED for it.
  await expect(page.getByTestId("policy-version")).toHaveText("v1");
  expect(await policyVersion(slug)).toBe(1);
  await expect.poll(() => status(slug, ADDED), { timeout: 10_000 }).toBe(101);

  // Promote: active at version 2, the version the shadow and the canary had.
  await panel.getByRole("button", { name: "Promote to active" }).click();
  await expect(page.getByTestId("rollout-panel")).toHaveCount(0);
  await expect(page.getByTestId("policy-version")).toHaveText("v2");
  expect(await policyVersion(slug)).toBe(2);
  const rollouts = await sql<{ version: number; guard: number | null; percent: number | null }>(
    "select r.version, r.guard_max_new_refusals_per_minute as guard, r.canary_percent as percent from policy_rollout r join tenant t on t.id = r.tenant_id where t.slug = $1",
    [slug],
  );
  expect(rollouts).toEqual([{ version: 2, guard: 100, percent }]);
  const steps = await sql<{ action: string; actor: string; comment: string | null }>(
    "select s.action, s.actor, s.comment from policy_rollout_step s join policy_rollout r on r.id = s.rollout_id join tenant t on t.id = r.tenant_id where t.slug = $1 order by s.id",
    [slug],
  );
  expect(steps).toEqual([
    { action: "shadow", actor: editor.email, comment: "try added" },
    { action: "canary", actor: editor.email, comment: "to canary" },
    { action: "promoted", actor: editor.email, comment: null },
  ]);
  const [{ max }] = (await sql<{ max: number }>(
    "select max(r.version) as max from policy_revision r join tenant t on t.id = r.tenant_id where t.slug = $1",
    [slug],
  )) as [{ max: number }];
  expect(max).toBe(2);
});

test("with approvals required, a change waits for a second person; its author cannot approve it", async ({
  browser,
}) => {
  const slug = await makeTenant([KEPT]);
  const admin = await makeUser("admin");
  const author = await makeUser("editor");
  const approver = await makeUser("editor");

  // An admin turns the two-person rule on in the tenant's settings.
  const adminPage = await (await browser.newContext()).newPage();
  await signInUI(adminPage, admin);
  await adminPage.goto(`/tenants/${slug}?tab=settings`);
  // A controlled checkbox: it shows the saved setting once the server answered.
  const setting = adminPage.getByLabel("Require a second person's approval");
  await setting.click();
  await expect(setting).toBeChecked();
  await expect
    .poll(
      async () => (await sql<{ r: boolean }>("select require_approval as r from tenant where slug = $1", [slug]))[0]?.r,
    )
    .toBe(true);

  // Recorded traffic: clients of KEPT (admitted) and of ADDED (refused).
  await expect.poll(() => status(slug, KEPT), { timeout: 10_000 }).toBe(101);
  for (let i = 0; i < 3; i++) expect(await status(slug, KEPT)).toBe(101);
  for (let i = 0; i < 2; i++) expect(await status(slug, ADDED)).toBe(403);

  // The author's change admits ADDED and drops KEPT: the save bar asks a second confirmation
  // (it would refuse recorded traffic), then nothing is saved, the change waits for approval;
  // they cannot approve it.
  const authorPage = await (await browser.newContext()).newPage();
  await signInUI(authorPage, author);
  await authorPage.goto(`/tenants/${slug}`);
  await addOrigin(authorPage, ADDED);
  await authorPage.getByRole("button", { name: `Remove ${KEPT}` }).click();
  await authorPage.getByLabel("Comment").fill("needs review");
  await authorPage.getByRole("button", { name: /^Save as v/ }).click();
  await authorPage
    .getByTestId("impact-confirm")
    .getByRole("button", { name: /^Yes, save v/ })
    .click();
  const mine = authorPage.getByTestId("rollout-panel");
  await expect(mine.getByTestId("rollout-stage")).toHaveText("waiting for approval");
  await expect(mine.getByRole("button", { name: "Approve" })).toBeDisabled();
  expect(await policyVersion(slug)).toBe(1);
  expect(await status(slug, ADDED)).toBe(403);
  expect(await status(slug, KEPT)).toBe(101);
  // The API refuses the self-approval too.
  const [open] = await sql<{ id: string }>(
    "select r.id::text as id from policy_rollout r join tenant t on t.id = r.tenant_id where t.slug = $1 and r.state = 'pending_approval'",
    [slug],
  );
  const self = await authorPage.request.post(`/api/v1/tenants/${slug}/rollouts/${open!.id}/approve`, {
    data: {},
    headers: { Origin: new URL(authorPage.url()).origin },
  });
  expect(self.status()).toBe(403);
  expect((await self.json()).error.code).toBe("self_approval");

  // Every handshake made so far is on the audit trail (the gateway writes it in batches).
  const admitted = made.get(`${slug} ${KEPT} 101`) ?? 0;
  const refused = made.get(`${slug} ${ADDED} 403`) ?? 0;
  expect(admitted).toBeGreaterThanOrEqual(5);
  expect(refused).toBe(3);
  await recorded(slug, KEPT, "accepted", admitted);
  await recorded(slug, ADDED, "rejected", refused);

  // A second person sees the pending change with its diff and its impact on that traffic.
  const approverPage = await (await browser.newContext()).newPage();
  await signInUI(approverPage, approver);
  await approverPage.goto(`/tenants/${slug}`);
  const pending = approverPage.getByTestId("rollout-panel");
  await expect(pending.getByTestId("rollout-stage")).toHaveText("waiting for approval");
  await expect(pending.getByTestId("rollout-diff")).toContainText(ADDED);
  const impact = pending.getByTestId("rollout-impact");
  await expect(impact.getByTestId("impact-refused")).toHaveText(
    `would refuse ${admitted} connections from ${KEPT} in the last 7 days (origin_not_allowed)`,
  );
  await expect(impact.getByTestId("impact-allowed")).toHaveText(
    `would newly admit ${refused} connections from ${ADDED}`,
  );
  // The same figures as the impact API for the pending document over the same recorded traffic.
  const headers = { Origin: new URL(approverPage.url()).origin };
  const detail = await (await approverPage.request.get(`/api/v1/tenants/${slug}/rollouts/${open!.id}`)).json();
  const preview = await approverPage.request.post(`/api/v1/tenants/${slug}/policy/impact`, {
    data: { document: detail.document },
    headers,
  });
  expect(preview.status()).toBe(200);
  const api = await preview.json();
  expect(api.newlyRefused).toEqual([{ origin: KEPT, reason: "origin_not_allowed", count: admitted }]);
  expect(api.newlyAllowed).toEqual([{ origin: ADDED, count: refused }]);
  expect(detail.impact).toMatchObject({ newlyRefused: api.newlyRefused, newlyAllowed: api.newlyAllowed });

  await pending.getByLabel("Comment").fill("approved");
  await pending.getByRole("button", { name: "Approve" }).click();
  await expect(approverPage.getByTestId("rollout-panel")).toHaveCount(0);
  await expect(approverPage.getByTestId("policy-version")).toHaveText("v2");
  await expect.poll(() => status(slug, ADDED), { timeout: 10_000 }).toBe(101);
  await expect.poll(() => status(slug, KEPT), { timeout: 10_000 }).toBe(403);
  await approverPage.goto(`/tenants/${slug}?tab=history`);
  await expect(
    approverPage
      .getByRole("table", { name: "Revisions" })
      .getByRole("row")
      .filter({ hasText: "needs review" })
      .getByTestId("revision-stage"),
  ).toHaveText("sent for approval · promoted");
});
