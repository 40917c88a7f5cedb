/**
 * Dark mode (issue 16): the dashboard follows the OS (prefers-color-scheme) until a theme is
 * chosen; the choice applies at once, survives a reload, and is in the server's HTML (so the
 * first paint is right, with no script for the CSP to admit).
 */
import type { Page } from "@playwright/test";
import { expect, makeUser, signInUI, test } from "./support";

/** The page's background luminance, 0 (black) to 1 (white). */
async function backgroundLuminance(page: Page): Promise<number> {
  return page.evaluate(() => {
    const color = getComputedStyle(document.documentElement).backgroundColor;
    const [r, g, b] = (color.match(/[\d.]+/g) ?? ["0", "0", "0"]).slice(0, 3).map(Number) as [number, number, number];
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  });
}

test("follows the OS, and a chosen theme applies at once and persists across reloads", async ({ page }) => {
  await page.emulateMedia({ colorScheme: "dark" });
  await signInUI(page, await makeUser("viewer"));
  expect(await backgroundLuminance(page)).toBeLessThan(0.2);
  await page.emulateMedia({ colorScheme: "light" });
  expect(await backgroundLuminance(page)).toBeGreaterThan(0.8);

  // Pin light while the OS says dark: it holds across a reload.
  await page.emulateMedia({ colorScheme: "dark" });
  expect(await backgroundLuminance(page)).toBeLessThan(0.2);
  const picker = page.getByRole("combobox", { name: "Theme" });
  await expect(picker).toHaveValue("system");
  await picker.selectOption({ label: "Light" });
  expect(await backgroundLuminance(page)).toBeGreaterThan(0.8);
  await page.reload();
  await expect(page.getByRole("combobox", { name: "Theme" })).toHaveValue("light");
  expect(await backgroundLuminance(page)).toBeGreaterThan(0.8);

  // The server renders the choice into the HTML: right from the first paint.
  const html = await (await page.request.get("/tenants")).text();
  expect(html).toMatch(/<html[^>]*data-theme="light"/);

  // Dark while the OS says light; then back to following the OS.
  await page.emulateMedia({ colorScheme: "light" });
  await page.getByRole("combobox", { name: "Theme" }).selectOption({ label: "Dark" });
  expect(await backgroundLuminance(page)).toBeLessThan(0.2);
  await page.reload();
  expect(await backgroundLuminance(page)).toBeLessThan(0.2);
  await page.getByRole("combobox", { name: "Theme" }).selectOption({ label: "System" });
  expect(await backgroundLuminance(page)).toBeGreaterThan(0.8);
  await page.reload();
  expect(await backgroundLuminance(page)).toBeGreaterThan(0.8);
  expect(await page.evaluate(() => document.documentElement.dataset.theme ?? null)).toBeNull();
});
