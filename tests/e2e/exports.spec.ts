/**
 * CSV formula injection through the real product: a client sends a handshake whose Origin is
 * a formula hidden behind a `;` (what Excel splits cells on in many European locales), the
 * real gateway records it, and the audit export of the real dashboard (GET
 * /api/v1/audit/export) writes it so that no spreadsheet, whatever its separator, starts a
 * cell with a formula. The writer itself is tested in tests/unit/csv.test.ts.
 */
import WebSocket from "ws";
import { expect, makeTenant, makeToken, test, tokenContext } from "./support";

const HOSTILE_ORIGIN = "x;=cmd|' /C calc'!A0";

function gatewayUrl(): string {
  const url = process.env.E2E_GATEWAY_URL;
  if (!url) throw new Error("E2E_GATEWAY_URL missing: run through `npx playwright test` (global setup)");
  return url;
}

function handshakeStatus(slug: string, origin: string): Promise<number> {
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

test("an Origin with a `;`-hidden formula is exported so that no locale's spreadsheet runs it", async () => {
  const slug = await makeTenant(["https://app.example.com"]);
  await expect.poll(() => handshakeStatus(slug, "https://app.example.com"), { timeout: 15_000 }).toBe(101);
  expect(await handshakeStatus(slug, HOSTILE_ORIGIN)).toBe(403);

  const viewer = await tokenContext(await makeToken("viewer"));
  let csv = "";
  await expect
    .poll(
      async () => {
        const response = await viewer.get(`/api/v1/audit/export?format=csv&tenant=${slug}`);
        expect(response.status()).toBe(200);
        expect(response.headers()["content-type"]).toMatch(/^text\/csv/);
        csv = await response.text();
        return csv.includes("cmd|");
      },
      { timeout: 15_000 },
    )
    .toBe(true);
  // One quoted cell whose `;` is followed by a defusing apostrophe.
  expect(csv).toContain(`"x;'=cmd|' /C calc'!A0"`);
  // Split however a spreadsheet splits (`,`, `;`, tab, line breaks), quoted or not: nothing
  // starts (after quotes and spaces) with a formula character.
  expect(csv).not.toMatch(/(?:^|[,;\t\r\n])["\s]*[=+@]/);
  expect(csv).not.toMatch(/(?:^|[,;\t\r\n])["\s]*-(?!\d)/);
  await viewer.dispose();
});
