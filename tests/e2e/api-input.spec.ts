/**
 * Hostile input at the API's boundary, against the real dashboard: keys that JavaScript
 * treats specially (`__proto__`, `constructor`) are unknown fields like any other (422, never
 * silently dropped), and a path segment that is not valid percent-encoded UTF-8 is a 4xx,
 * never a 500 — for every route with a path parameter.
 */
import { expect, makeTenant, makeToken, policyVersion, test, tokenContext } from "./support";

const LIMITS =
  '{"maxMessageBytes":1048576,"idleTimeoutSeconds":60,"maxConnections":10000,"handshakesPerMinutePerIp":600';
const body = (limitsExtra: string, topExtra = "") =>
  `{"mode":"enforce","origins":[],"credentials":"forbid","token":"off","missingOrigin":"reject","subprotocols":[],` +
  `"limits":${LIMITS}${limitsExtra}}${topExtra}}`;

test("own keys named __proto__ or constructor are unknown fields: 422 with their path, nothing saved", async () => {
  const slug = await makeTenant(["https://a.example.com"]);
  const editor = await tokenContext(await makeToken("editor"));
  const cases: Array<[string, string]> = [
    [body(',"__proto__":{"maxConnections":1}'), "limits.__proto__"],
    [body(',"constructor":1'), "limits.constructor"],
    [body(',"toString":1'), "limits.toString"],
    [body("", ',"__proto__":{"mode":"report-only"}'), "__proto__"],
  ];
  for (const [raw, path] of cases) {
    const response = await editor.put(`/api/v1/tenants/${slug}/policy`, {
      headers: { "If-Match": '"1"', "Content-Type": "application/json" },
      data: raw,
    });
    expect(response.status(), raw).toBe(422);
    const details = (await response.json()).error.details as Array<{ path: string }>;
    expect(details.map((d) => d.path)).toContain(path);
  }
  expect(await policyVersion(slug)).toBe(1);
  // The same body without the extra key is fine.
  const ok = await editor.put(`/api/v1/tenants/${slug}/policy`, {
    headers: { "If-Match": '"1"', "Content-Type": "application/json" },
    data: body(""),
  });
  expect(ok.status()).toBe(200);
  await editor.dispose();
});

test("a path segment that is not valid UTF-8 is a 4xx on every route with a path parameter", async () => {
  const admin = await tokenContext(await makeToken("admin"));
  const slug = await makeTenant();
  const paths: Array<["GET" | "PATCH" | "DELETE" | "POST" | "PUT", string]> = [
    ["GET", "/api/v1/tenants/%ff"],
    ["PATCH", "/api/v1/tenants/%ff"],
    ["DELETE", "/api/v1/tenants/%ff"],
    ["GET", "/api/v1/tenants/%ff/policy"],
    ["PUT", "/api/v1/tenants/%ff/policy"],
    ["GET", "/api/v1/tenants/%c3%28/revisions"],
    ["GET", `/api/v1/tenants/${slug}/revisions/%ff`],
    ["POST", `/api/v1/tenants/${slug}/revisions/%ff/rollback`],
    ["GET", "/api/v1/tenants/%ff/endpoints"],
    ["DELETE", `/api/v1/tenants/${slug}/endpoints/%ff`],
    ["POST", "/api/v1/tenants/%ff/rotate-secret"],
    ["DELETE", "/api/v1/tokens/%ff"],
    ["PATCH", "/api/v1/users/%ff"],
    ["DELETE", "/api/v1/users/%e0%80"],
    ["POST", "/api/v1/audit/%ff/allow"],
  ];
  for (const [method, path] of paths) {
    const response = await admin.fetch(path, {
      method,
      headers: { "If-Match": '"1"' },
      data: method === "GET" || method === "DELETE" ? undefined : {},
    });
    expect(response.status(), `${method} ${path}`).toBeGreaterThanOrEqual(400);
    expect(response.status(), `${method} ${path}`).toBeLessThan(500);
    expect(response.headers()["content-type"], `${method} ${path}`).toMatch(/^application\/json/);
  }
  // Pages too.
  const page = await admin.get("/tenants/%ff", { maxRedirects: 0 });
  expect(page.status()).toBeGreaterThanOrEqual(400);
  expect(page.status()).toBeLessThan(500);
  await admin.dispose();
});

test("a sign-in body beyond 64 KiB is a 413 before Better Auth reads it", async ({ playwright, baseURL }) => {
  const context = await playwright.request.newContext({ baseURL });
  const huge = await context.post("/api/auth/sign-in/email", {
    headers: { "Content-Type": "application/json", Origin: baseURL! },
    data: JSON.stringify({ email: "nobody@example.com", password: "x".repeat(70 * 1024) }),
  });
  expect(huge.status()).toBe(413);
  expect((await huge.json()).error.code).toBe("payload_too_large");
  await context.dispose();
});
