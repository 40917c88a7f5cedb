/**
 * An optional maximum token lifetime (issue 11 item 16; `limits.maxTokenLifetimeSeconds`):
 * when set, a handshake token must carry `iat`, `iat` may not lie in the future, and
 * `exp - iat` may not exceed the maximum (401 token_invalid); unset (null), tokens are
 * judged as before. The tester's trace explains the verdict. Real gateway and Postgres.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signHandshakeToken } from "../../server/policy";
import type { HandshakeResponse } from "../../server/tester/types";
import { createTenant, type TenantFixture } from "../helpers/fixtures";
import { expectRefusal, handshake, startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";
import { callTester } from "./tester-helpers";

const ORIGIN = "https://app.example.com";

let db: string;
let gw: TestGateway;
let bounded: TenantFixture;
let unbounded: TenantFixture;

beforeAll(async () => {
  db = await createTestDatabase("gwlifetime");
  bounded = await createTenant(db, {
    policy: { origins: [ORIGIN], token: "required", limits: { maxTokenLifetimeSeconds: 300 } },
  });
  unbounded = await createTenant(db, { policy: { origins: [ORIGIN], token: "required" } });
  gw = await startGateway(db);
});

afterAll(async () => {
  await gw?.stop();
});

const now = () => Math.floor(Date.now() / 1000);
const jwt = (tenant: TenantFixture, claims: Record<string, unknown>) =>
  signHandshakeToken({ aud: tenant.slug, exp: now() + 60, ...claims }, tenant.tokenSecret);
const url = (tenant: TenantFixture, token: string) => `${gw.wsUrl}/t/${tenant.slug}/x?access_token=${token}`;

describe("limits.maxTokenLifetimeSeconds", () => {
  it("refuses a token without iat, one living longer than the maximum, and one issued in the future", async () => {
    for (const claims of [
      { exp: now() + 60 },
      { iat: now(), exp: now() + 3600 },
      { iat: now() + 86_400, exp: now() + 86_400 + 60 },
    ]) {
      const outcome = await expectRefusal(url(bounded, jwt(bounded, claims)), { origin: ORIGIN });
      expect([outcome.status, outcome.reason]).toEqual([401, "token_invalid"]);
    }
  });

  it("admits a token within the maximum", async () => {
    const outcome = await handshake(url(bounded, jwt(bounded, { iat: now(), exp: now() + 300 })), { origin: ORIGIN });
    expect(outcome.status).toBe(101);
    outcome.ws!.close();
  });

  it("without a maximum (null), a long-lived token without iat is still admitted", async () => {
    const outcome = await handshake(url(unbounded, jwt(unbounded, { exp: now() + 86_400 })), { origin: ORIGIN });
    expect(outcome.status).toBe(101);
    outcome.ws!.close();
  });

  it("the tester's trace says how long the token lives and what the policy allows", async () => {
    const res = await callTester<HandshakeResponse>(gw, "handshake", {
      tenant: bounded.slug,
      origin: ORIGIN,
      token: jwt(bounded, { iat: now(), exp: now() + 3600 }),
    });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe(401);
    const step = res.body.trace!.steps.find((s) => s.check === "token");
    expect(step).toMatchObject({ outcome: "fail" });
    expect(step!.message).toMatch(/lives 3600 s .*maximum of 300 s/);
  });
});
