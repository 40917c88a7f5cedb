import { expect, test } from "./support";

// Foundation: the real dashboard, served by `next start`, opens in Chromium.
test("the dashboard opens in Chromium", async ({ page }) => {
  const response = await page.goto("/login");
  expect(response?.status()).toBe(200);
  await expect(page.getByRole("heading", { name: "OriginGate" })).toBeVisible();
});
