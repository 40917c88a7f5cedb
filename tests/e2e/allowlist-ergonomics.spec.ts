/**
 * The allowlist editor's ergonomics in Chromium (issue 16): refused bulk-paste lines stay in
 * the box with their reasons; the row order is sortable and a save does not change it; an
 * entry's expiry is one Tab stop; arrow keys move between tabs; rows can be selected to be
 * removed or given an expiry together; a role change on the Users page asks first.
 */
import type { Page } from "@playwright/test";
import { expect, makeTenant, makeUser, signInUI, sql, test } from "./support";

const allowlist = (page: Page) => page.getByRole("table", { name: "Allowlist" });

/** The patterns of the allowlist table, top to bottom. */
async function shownPatterns(page: Page): Promise<string[]> {
  const cells = allowlist(page).locator("tbody tr td.pattern-cell");
  return (await cells.evaluateAll((tds) => tds.map((td) => td.firstChild?.textContent ?? ""))).map((t) => t.trim());
}

async function save(page: Page, version: number): Promise<void> {
  await page.getByRole("button", { name: `Save as v${version}` }).click();
  await expect(page.getByTestId("policy-version")).toHaveText(`v${version}`);
}

test("bulk paste leaves each refused line in the box under its reason; fixed, a second run adds it", async ({
  page,
}) => {
  const slug = await makeTenant([]);
  await signInUI(page, await makeUser("editor"));
  await page.goto(`/tenants/${slug}`);
  await page.getByRole("button", { name: "Bulk paste…" }).click();
  const box = page.getByRole("textbox", { name: /One pattern per line/ });
  await box.fill("https://ok.example.com\nhttps://*.com  too broad\nhttps://ex*ample.com");
  await page.getByRole("button", { name: "Add lines" }).click();
  await expect(page.getByText("1 added, 0 duplicate, 2 refused")).toBeVisible();

  const left = (await box.inputValue()).split("\n");
  expect(left).toHaveLength(4);
  expect(left[0]).toMatch(/^# refused: .*public suffix/);
  expect(left[1]).toBe("https://*.com  too broad");
  expect(left[2]).toMatch(/^# refused: \S/);
  expect(left[3]).toBe("https://ex*ample.com");
  await expect(box).toBeFocused();

  // Correct the lines in place; the reason comments are skipped on the second run.
  await box.fill(
    (await box.inputValue()).replace("https://*.com", "https://*.example.com").replace("ex*ample", "example"),
  );
  await page.getByRole("button", { name: "Add lines" }).click();
  await expect(page.getByText("2 added, 0 duplicate, 0 refused")).toBeVisible();
  await expect(box).toHaveValue("");
  // None saved yet: listed as one save will store them (by pattern).
  expect(await shownPatterns(page)).toEqual(["https://*.example.com", "https://example.com", "https://ok.example.com"]);
});

test("the row order is sortable and stays the same across a save", async ({ page }) => {
  const slug = await makeTenant(["https://m.example.com"]);
  await signInUI(page, await makeUser("editor"));
  await page.goto(`/tenants/${slug}`);
  for (const origin of ["https://z.example.com", "https://b.example.com"]) {
    await page.getByLabel("Origin pattern").fill(origin);
    await page.getByRole("button", { name: "Add", exact: true }).click();
  }
  // Added order: saved entries first, then the new ones as one save stores them.
  const before = await shownPatterns(page);
  expect(before).toEqual(["https://m.example.com", "https://b.example.com", "https://z.example.com"]);
  await save(page, 2);
  expect(await shownPatterns(page)).toEqual(before);

  await page.getByRole("combobox", { name: "Order" }).selectOption({ label: "Pattern (A → Z)" });
  expect(await shownPatterns(page)).toEqual([
    "https://b.example.com",
    "https://m.example.com",
    "https://z.example.com",
  ]);
  await expect(allowlist(page).getByRole("columnheader", { name: "Pattern" })).toHaveAttribute(
    "aria-sort",
    "ascending",
  );
  await page.getByRole("combobox", { name: "Order" }).selectOption({ label: "Added (newest first)" });
  expect(await shownPatterns(page)).toEqual([...before].reverse());

  // A note edit and a save do not move the row either.
  await page.getByRole("textbox", { name: "Note for https://m.example.com" }).fill("moved?");
  const edited = await shownPatterns(page);
  await save(page, 3);
  expect(await shownPatterns(page)).toEqual(edited);
});

test("an entry's expiry is one Tab stop and takes a typed date or duration", async ({ page }) => {
  const slug = await makeTenant(["https://tab.example.com"]);
  await signInUI(page, await makeUser("editor"));
  await page.goto(`/tenants/${slug}`);
  const note = page.getByRole("textbox", { name: "Note for https://tab.example.com" });
  const expiry = page.getByRole("textbox", { name: "Expiry for https://tab.example.com" });
  await note.focus();
  await page.keyboard.press("Tab");
  await expect(expiry).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Remove https://tab.example.com" })).toBeFocused();

  await expiry.fill("tomorrow");
  await expect(expiry).toHaveAttribute("aria-invalid", "true");
  await expiry.fill("2099-12-31 18:30");
  await expect(expiry).toHaveAttribute("aria-invalid", "false");
  await page.getByRole("textbox", { name: "Comment", exact: true }).focus();
  await save(page, 2);
  const [row] = await sql<{ expires_at: Date }>(
    "select o.expires_at from allowed_origin o join tenant t on t.id = o.tenant_id where t.slug = $1",
    [slug],
  );
  const local = await page.evaluate(() => new Date(2099, 11, 31, 18, 30).toISOString());
  expect(row?.expires_at.toISOString()).toBe(local);
  await expect(expiry).toHaveValue("2099-12-31 18:30");

  await expiry.fill("7d");
  await expiry.blur();
  await expect(expiry).toHaveValue(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
  await expect(allowlist(page).getByRole("row", { name: /tab\.example\.com/ })).toContainText("temporary · in 7 d");
});

test("arrow keys, Home and End move between the tenant's tabs; the tab list is one Tab stop", async ({ page }) => {
  const slug = await makeTenant(["https://keys.example.com"]);
  await signInUI(page, await makeUser("viewer"));
  await page.goto(`/tenants/${slug}`);
  const tab = (name: string) => page.getByRole("tab", { name });
  await tab("Allowlist").focus();
  await expect(tab("Credential policy")).toHaveAttribute("tabindex", "-1");
  await page.keyboard.press("ArrowRight");
  await expect(tab("Credential policy")).toBeFocused();
  await expect(tab("Credential policy")).toHaveAttribute("aria-selected", "true");
  await expect(page.getByRole("radio", { name: /Report-only/ })).toBeVisible();
  await page.keyboard.press("End");
  await expect(tab("Settings")).toBeFocused();
  await expect(tab("Settings")).toHaveAttribute("aria-selected", "true");
  await page.keyboard.press("ArrowRight");
  await expect(tab("Allowlist")).toBeFocused();
  await page.keyboard.press("ArrowLeft");
  await expect(tab("Settings")).toBeFocused();
  await page.keyboard.press("Home");
  await expect(tab("Allowlist")).toBeFocused();
  await expect(tab("Allowlist")).toHaveAttribute("aria-selected", "true");
  await expect(page).toHaveURL(/tab=allowlist/);
  // Tab leaves the tab list for the panel instead of visiting the other tabs.
  await page.keyboard.press("Tab");
  expect(await page.evaluate(() => document.activeElement?.getAttribute("role"))).not.toBe("tab");
});

test("selected entries are removed together, or given an expiry together", async ({ page }) => {
  const origins = ["https://a.example.com", "https://b.example.com", "https://c.example.com", "https://d.example.com"];
  const slug = await makeTenant(origins);
  await signInUI(page, await makeUser("editor"));
  await page.goto(`/tenants/${slug}`);
  const select = (origin: string) => page.getByRole("checkbox", { name: `Select ${origin}` });
  await select("https://a.example.com").check();
  await select("https://c.example.com").check();
  const bar = page.getByRole("region", { name: "Selected entries" });
  await expect(bar).toContainText("2 entries selected");
  await bar.getByRole("button", { name: "Remove selected" }).click();
  expect(await shownPatterns(page)).toEqual(["https://b.example.com", "https://d.example.com"]);
  await expect(bar).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Undo removal of https://a.example.com" })).toBeVisible();

  // Select all shown, then give them all one expiry.
  await page.getByRole("checkbox", { name: "Select all shown entries" }).check();
  await expect(bar).toContainText("2 entries selected");
  await bar.getByRole("textbox", { name: "Expiry for the selected entries" }).fill("2099-01-02 03:04");
  await bar.getByRole("button", { name: "Set expiry of selected" }).click();
  for (const origin of ["https://b.example.com", "https://d.example.com"]) {
    await expect(page.getByRole("textbox", { name: `Expiry for ${origin}` })).toHaveValue("2099-01-02 03:04");
  }
  await save(page, 2);
  const rows = await sql<{ pattern: string; expires_at: Date | null }>(
    "select o.pattern, o.expires_at from allowed_origin o join tenant t on t.id = o.tenant_id where t.slug = $1 order by 1",
    [slug],
  );
  const expected = await page.evaluate(() => new Date(2099, 0, 2, 3, 4).toISOString());
  expect(rows.map((r) => [r.pattern, r.expires_at?.toISOString() ?? null])).toEqual([
    ["https://b.example.com", expected],
    ["https://d.example.com", expected],
  ]);
});

test("a role change on the Users page asks for confirmation first", async ({ page }) => {
  const target = await makeUser("viewer");
  await signInUI(page, await makeUser("admin"));
  await page.goto("/users");
  const role = page.getByRole("table", { name: "Users" }).getByRole("combobox", { name: `Role of ${target.email}` });
  await role.selectOption("admin");
  const dialog = page.getByRole("dialog", { name: "Change this user's role?" });
  await expect(dialog).toContainText(target.email);
  await expect(dialog).toContainText("changes from viewer to admin");
  // Nothing changed yet; cancelling leaves it so.
  expect((await sql<{ role: string }>(`select role from "user" where id = $1`, [target.id]))[0]?.role).toBe("viewer");
  await page.keyboard.press("Escape");
  await expect(dialog).toHaveCount(0);
  await expect(role).toHaveValue("viewer");
  expect((await sql<{ role: string }>(`select role from "user" where id = $1`, [target.id]))[0]?.role).toBe("viewer");

  await role.selectOption("editor");
  await dialog.getByRole("button", { name: "Make editor" }).click();
  await expect(page.getByText("Role changed to editor")).toBeVisible();
  await expect(role).toHaveValue("editor");
  expect((await sql<{ role: string }>(`select role from "user" where id = $1`, [target.id]))[0]?.role).toBe("editor");
});
