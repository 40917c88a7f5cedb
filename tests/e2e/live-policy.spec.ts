import { handshake, type ProcessGateway, spawnGateway } from "../helpers/gateway";
import { databaseUrl, expect, makeTenant, makeToken, test, tokenContext } from "./support";

// Issue 4: a policy change made through the API is enforced by two running gateway
// processes (the e2e setup's gateway and one more started here), without a restart.

const ALLOWED_LATER = "https://later.example.com";

async function status(wsBase: string, slug: string, origin: string): Promise<number> {
  const outcome = await handshake(`${wsBase}/t/${slug}/live`, { origin });
  outcome.ws?.close();
  return outcome.status;
}

test.describe("live policy through the API", () => {
  let second: ProcessGateway;
  test.beforeAll(async () => {
    second = await spawnGateway(databaseUrl());
  });
  test.afterAll(async () => {
    await second?.stop();
  });

  test("a PUT of the policy is enforced by both gateway processes", async () => {
    const slug = await makeTenant(["https://first.example.com"]);
    const api = await tokenContext(await makeToken("editor"));
    const gateways = [process.env.E2E_GATEWAY_URL!, second.wsUrl];
    for (const g of gateways) {
      await expect.poll(() => status(g, slug, "https://first.example.com"), { timeout: 10_000 }).toBe(101);
      expect(await status(g, slug, ALLOWED_LATER)).toBe(403);
    }

    const current = await (await api.get(`/api/v1/tenants/${slug}/policy`)).json();
    const put = await api.put(`/api/v1/tenants/${slug}/policy?comment=e2e%20live`, {
      headers: { "If-Match": `"${current.version}"` },
      data: { ...current, origins: [{ pattern: ALLOWED_LATER }] },
    });
    expect(put.status(), await put.text()).toBe(200);

    for (const g of gateways) {
      await expect.poll(() => status(g, slug, ALLOWED_LATER), { timeout: 5_000, intervals: [20] }).toBe(101);
      expect(await status(g, slug, "https://first.example.com")).toBe(403);
    }
    await api.dispose();
  });
});
