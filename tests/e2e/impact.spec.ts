/**
 * Safe change in Chromium against the real dashboard and gateway of the global setup:
 * - the save bar replays the recorded traffic against the draft before anything is saved
 *   ("would refuse 3 connections from … in the last 7 days"); a change that would refuse
 *   recorded traffic asks a second confirmation, and nothing is saved until it is given;
 *   a change that refuses nothing saves at once;
 * - an allowlist entry unused for 30 days is flagged with its usage, and the one-click
 *   removal goes through the normal save path: a new revision without it.
 */
import type { Page } from "@playwright/test";
import { handshake } from "../helpers/gateway";
import { expect, makeTenant, makeUser, policyVersion, signInUI, sql, test, unique } from "./support";

async function connect(slug: string, origin: string): Promise<number> {
  const outcome = await handshake(`${process.env.E2E_GATEWAY_URL}/t/${slug}/live`, { origin });
  outcome.ws?.close();
  return outcome.status;
}

/** Waits until the audit trail holds `n` handshakes of `slug` from `origin`. */
async function recorded(slug: string, origin: string, n: number): Promise<void> {
  await expect
    .poll(
      async () =>
        Number(
          (
            await sql<{ n: string }>(
              "select coalesce(sum(count), 0)::text as n from audit_event where tenant = $1 and origin = $2 and kind = 'handshake'",
              [slug, origin],
            )
          )[0]?.n,
        ),
      { timeout: 15_000 },
    )
    .toBe(n);
}

async function openTenant(page: Page, slug: string): Promise<void> {
  await signInUI(page, await makeUser("editor"));
  await page.goto(`/tenants/${slug}`);
  await expect(page.getByTestId("policy-version")).toHaveText("v1");
}

test("the save bar previews the impact and asks a second confirmation before refusing recorded traffic", async ({
  page,
}) => {
  const checkout = `https://${unique("checkout")}.e2e.test`;
  const app = `https://${unique("app")}.e2e.test`;
  const slug = await makeTenant([checkout, app]);
  // The gateway knows the tenant once it admits `app`; then three clients of `checkout`.
  await expect.poll(() => connect(slug, app), { timeout: 15_000 }).toBe(101);
  for (let i = 0; i < 3; i++) expect(await connect(slug, checkout)).toBe(101);
  await recorded(slug, checkout, 3);

  await openTenant(page, slug);
  await page.getByRole("button", { name: `Remove ${checkout}` }).click();
  const preview = page.getByTestId("impact-preview");
  await expect(preview).toContainText(`would refuse 3 connections from ${checkout} in the last 7 days`);
  await expect(preview).toContainText("origin_not_allowed");

  // First click: the confirmation, and nothing saved.
  await page.getByRole("button", { name: "Save as v2" }).click();
  const confirm = page.getByTestId("impact-confirm");
  await expect(confirm).toContainText("would refuse 3 connections");
  expect(await policyVersion(slug)).toBe(1);
  await confirm.getByRole("button", { name: "Cancel" }).click();
  await expect(confirm).toBeHidden();
  expect(await policyVersion(slug)).toBe(1);

  // Confirmed: saved as v2, and the gateway then refuses `checkout` as previewed.
  await page.getByRole("button", { name: "Save as v2" }).click();
  await confirm.getByRole("button", { name: "Yes, save v2" }).click();
  await expect(page.getByTestId("policy-version")).toHaveText("v2");
  expect(await policyVersion(slug)).toBe(2);
  await expect.poll(() => connect(slug, checkout), { timeout: 15_000 }).toBe(403);

  // A change that refuses nothing recorded saves at once.
  await page.getByLabel(/^Origin pattern/).fill(`https://${unique("new")}.e2e.test`);
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await expect(preview).toContainText("no change");
  await page.getByRole("button", { name: "Save as v3" }).click();
  await expect(page.getByTestId("policy-version")).toHaveText("v3");
  await expect(page.getByTestId("impact-confirm")).toHaveCount(0);
});

test("an entry unused for 30 days is flagged, and its removal is a new revision", async ({ page }) => {
  const used = `https://${unique("used")}.e2e.test`;
  const stale = `https://${unique("stale")}.e2e.test`;
  const slug = await makeTenant([used, stale]);
  await sql(
    "update allowed_origin set created_at = now() - interval '60 days' where tenant_id = (select id from tenant where slug = $1)",
    [slug],
  );
  await expect.poll(() => connect(slug, used), { timeout: 15_000 }).toBe(101);
  await recorded(slug, used, 1);

  await openTenant(page, slug);
  const panel = page.getByTestId("unused-entries");
  await expect(panel).toContainText("1 entry unused");
  await expect(panel).toContainText(stale);
  await expect(panel).not.toContainText(used);
  const usedRow = page.getByRole("row").filter({ hasText: used });
  await expect(usedRow.getByTestId("entry-usage")).toContainText(/[1-9]\d* in 30 d/);
  await expect(page.getByRole("row").filter({ hasText: stale }).getByTestId("entry-usage")).toContainText(
    "never matched",
  );

  await panel.getByRole("button", { name: "Remove 1 unused" }).click();
  // Nobody used it: the preview says so, and the save needs no second confirmation.
  await expect(page.getByTestId("impact-preview")).toContainText("no change");
  await page.getByRole("button", { name: "Save as v2" }).click();
  await expect(page.getByTestId("policy-version")).toHaveText("v2");

  const [revision] = await sql<{ document: { origins: Array<{ pattern: string }> } }>(
    "select r.document from policy_revision r join tenant t on t.id = r.tenant_id where t.slug = $1 and r.version = 2",
    [slug],
  );
  expect(revision?.document.origins.map((o) => o.pattern)).toEqual([used]);
  await expect(page.getByTestId("unused-entries")).toContainText("0 entries unused");
});

test("“Expire N in 7 days” sets unused entries without an expiry to lapse in 7 days, through a revision", async ({
  page,
}) => {
  const used = `https://${unique("used")}.e2e.test`;
  const staleA = `https://${unique("stale-a")}.e2e.test`;
  const staleB = `https://${unique("stale-b")}.e2e.test`;
  const lapsing = `https://${unique("lapsing")}.e2e.test`;
  const slug = await makeTenant([used, staleA, staleB, lapsing]);
  // All four are old; one of the unused ones already lapses in 30 days.
  const lapsingAt = new Date(Date.now() + 30 * 86_400_000);
  lapsingAt.setUTCMilliseconds(0);
  await sql(
    "update allowed_origin set created_at = now() - interval '60 days' where tenant_id = (select id from tenant where slug = $1)",
    [slug],
  );
  await sql(
    "update allowed_origin set expires_at = $2 where pattern = $3 and tenant_id = (select id from tenant where slug = $1)",
    [slug, lapsingAt, lapsing],
  );
  await expect.poll(() => connect(slug, used), { timeout: 15_000 }).toBe(101);
  await recorded(slug, used, 1);

  await openTenant(page, slug);
  const panel = page.getByTestId("unused-entries");
  await expect(panel).toContainText("3 entries unused");
  // Only the two without an expiry are offered.
  const before = Date.now();
  await panel.getByRole("button", { name: "Expire 2 in 7 days" }).click();
  const after = Date.now();
  // Only the draft changed: nothing lapses for anyone, the save bar previews it ("no change").
  await expect(page.getByTestId("pending-summary")).toBeVisible();
  await expect(page.getByTestId("impact-preview")).toContainText("no change");
  expect(await policyVersion(slug)).toBe(1);
  await expect(panel.getByRole("button", { name: /^Expire / })).toHaveCount(0);
  await page.getByRole("button", { name: "Save as v2" }).click();
  await expect(page.getByTestId("policy-version")).toHaveText("v2");

  const [revision] = await sql<{ document: { origins: Array<{ pattern: string; expiresAt: string | null }> } }>(
    "select r.document from policy_revision r join tenant t on t.id = r.tenant_id where t.slug = $1 and r.version = 2",
    [slug],
  );
  const expiry = new Map(revision!.document.origins.map((o) => [o.pattern, o.expiresAt]));
  expect([...expiry.keys()].sort()).toEqual([used, staleA, staleB, lapsing].sort());
  expect(expiry.get(used)).toBeNull();
  expect(Date.parse(expiry.get(lapsing) ?? "")).toBe(lapsingAt.getTime());
  const week = 7 * 86_400_000;
  for (const pattern of [staleA, staleB]) {
    const at = Date.parse(expiry.get(pattern) ?? "");
    expect(at).toBeGreaterThanOrEqual(before + week - 1000);
    expect(at).toBeLessThanOrEqual(after + week + 1000);
  }
  // Still in the allowlist until then, and still unused; nothing left to set to expire.
  await expect(page.getByTestId("unused-entries")).toContainText("3 entries unused");
  await expect(page.getByTestId("unused-entries").getByRole("button", { name: /^Expire / })).toHaveCount(0);
  await expect(page.getByTestId("unused-entries").getByRole("button", { name: "Remove 3 unused" })).toBeVisible();
});
