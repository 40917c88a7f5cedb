/**
 * The largest policies through the real dashboard API (`next-server.mjs` on the e2e build,
 * real Postgres): the largest allowlist the engine accepts (MAX_POLICY_ORIGINS, 100,000
 * entries — it used to fail with a 500 after the transaction's 60 s) saves, and so does a
 * change of a tenth of it, while the same dashboard keeps answering other requests; one entry over MAX_POLICY_ORIGINS is a 422 that says so, and a body over
 * MAX_POLICY_BODY_BYTES is a 413 — nothing saved in either case.
 *
 * Counts and states only (how fast it is lives in tests/bench, npm run bench:policy-save):
 * what made large saves slow was one write statement per chunk or per changed row, and every
 * statement on the allowlist bumps `policy.generation` once (the statement-level trigger that
 * wakes the gateways), so the generation's growth counts the write statements of a save:
 * a handful, whatever the size.
 */
import { MAX_POLICY_BODY_BYTES } from "../../server/domain/policy/save-policy";
import { MAX_POLICY_ORIGINS } from "../../server/policy/document";
import { expect, makeTenant, makeToken, policyVersion, sql, test, tokenContext } from "./support";

const document = (count: number) => ({
  mode: "enforce",
  origins: Array.from({ length: count }, (_, i) => ({
    pattern: `https://app${i}.team${i % 500}.example.com`,
    ...(i % 10 === 0 ? { note: `entry ${i}` } : {}),
  })),
  credentials: "forbid",
  token: "off",
  missingOrigin: "reject",
  subprotocols: [],
  limits: { maxMessageBytes: 1048576, idleTimeoutSeconds: 60, maxConnections: 10000, handshakesPerMinutePerIp: 600 },
});

test("the largest allowed allowlist saves, and the dashboard answers other requests meanwhile", async () => {
  test.setTimeout(240_000);
  const slug = await makeTenant(["https://first.example.com"]);
  const editor = await tokenContext(await makeToken("editor"));
  const reader = await tokenContext(await makeToken("viewer"));
  const generation = async () =>
    (
      await sql<{ g: number }>(
        "select p.generation as g from policy p join tenant t on t.id = p.tenant_id where t.slug = $1",
        [slug],
      )
    )[0]!.g;
  const startGeneration = await generation();
  let putDone = false;
  const put = editor
    .put(`/api/v1/tenants/${slug}/policy?comment=big`, {
      headers: { "If-Match": '"1"' },
      data: document(MAX_POLICY_ORIGINS),
      timeout: 230_000,
    })
    .finally(() => {
      putDone = true;
    });
  // Other requests while the save runs: at least one is answered before the save is.
  let answeredDuringSave = 0;
  while (!putDone) {
    const response = await reader.get(`/api/v1/tenants/${slug}`, { timeout: 230_000 });
    expect(response.status()).toBe(200);
    if (!putDone) answeredDuringSave += 1;
  }
  const saved = await put;
  expect(saved.status(), await saved.text()).toBe(200);
  expect((await saved.json()).version).toBe(2);
  expect(answeredDuringSave).toBeGreaterThan(0);
  // The policy row, then one INSERT of all the entries and one DELETE of the old one.
  const savedGeneration = await generation();
  expect(savedGeneration - startGeneration).toBeLessThanOrEqual(4);

  const policy = await (await reader.get(`/api/v1/tenants/${slug}/policy`)).json();
  expect(policy.version).toBe(2);
  expect(policy.origins).toHaveLength(MAX_POLICY_ORIGINS);
  const [rows] = await sql<{ n: number }>(
    "select count(*)::int as n from allowed_origin a join tenant t on t.id = a.tenant_id where t.slug = $1",
    [slug],
  );
  expect(rows?.n).toBe(MAX_POLICY_ORIGINS);
  const [revision] = await sql<{ n: number }>(
    `select jsonb_array_length(r.document->'origins')::int as n from policy_revision r
       join tenant t on t.id = r.tenant_id where t.slug = $1 and r.version = 2`,
    [slug],
  );
  expect(revision?.n).toBe(MAX_POLICY_ORIGINS);

  // A second save of the same size that replaces a tenth of it and edits another tenth's notes.
  const next = document(MAX_POLICY_ORIGINS);
  const replaced = MAX_POLICY_ORIGINS / 10;
  for (let i = 0; i < replaced; i++) next.origins[i] = { pattern: `https://new${i}.example.net` };
  for (let i = replaced; i < 2 * replaced; i++)
    next.origins[i] = { pattern: next.origins[i]!.pattern, note: "changed" };
  const second = await editor.put(`/api/v1/tenants/${slug}/policy`, {
    headers: { "If-Match": '"2"' },
    data: next,
    timeout: 230_000,
  });
  expect(second.status(), await second.text()).toBe(200);
  expect((await generation()) - savedGeneration).toBeLessThanOrEqual(4);
  const after = await (await reader.get(`/api/v1/tenants/${slug}/policy`)).json();
  expect(after.origins).toHaveLength(MAX_POLICY_ORIGINS);
  expect(after.origins.filter((o: { pattern: string }) => o.pattern.startsWith("https://new"))).toHaveLength(replaced);
  const edited = next.origins[replaced + 1]!.pattern;
  expect(after.origins.find((o: { pattern: string }) => o.pattern === edited).note).toBe("changed");
  await Promise.all([editor.dispose(), reader.dispose()]);
});

test("one entry over the limit is a 422 naming it; a body over the size limit is a 413; nothing is saved", async () => {
  test.setTimeout(120_000);
  const slug = await makeTenant(["https://first.example.com"]);
  const editor = await tokenContext(await makeToken("editor"));
  const over = await editor.put(`/api/v1/tenants/${slug}/policy`, {
    headers: { "If-Match": '"1"' },
    data: document(MAX_POLICY_ORIGINS + 1),
    timeout: 110_000,
  });
  expect(over.status()).toBe(422);
  const error = (await over.json()).error;
  expect(error.code).toBe("validation_failed");
  expect(error.details).toEqual([
    expect.objectContaining({ path: "origins", message: expect.stringContaining(String(MAX_POLICY_ORIGINS)) }),
  ]);

  const huge = JSON.stringify({ ...document(1), padding: "x".repeat(MAX_POLICY_BODY_BYTES) });
  const tooLarge = await editor.put(`/api/v1/tenants/${slug}/policy`, {
    headers: { "If-Match": '"1"', "Content-Type": "application/json" },
    data: huge,
    timeout: 110_000,
  });
  expect(tooLarge.status()).toBe(413);
  expect((await tooLarge.json()).error.code).toBe("payload_too_large");
  expect(await policyVersion(slug)).toBe(1);
  await editor.dispose();
});
