/**
 * Issue 11 items 6 and 7 against real processes (a gateway on port 0, real Postgres, real
 * `ws` clients), as the security review reproduced them:
 *
 * - item 7 (SPEC §4.1): an Origin a URL parser would rewrite (`http://2130706433`,
 *   `http://127.1`, `http://0x7f.0.0.1`, `http://127.0.0.1.`, `http://[0:0:0:0:0:0:0:1]`,
 *   invalid punycode) was matched after normalisation and upgraded. It must be refused as
 *   `origin_malformed`, and the audit row must keep what the client really sent.
 * - item 6 (SPEC §4.3): `https://*.amazonaws.com` (and `null`) with `credentials: allow` was
 *   saved, and `Origin: https://attacker-bucket.s3.amazonaws.com` with a Cookie got 101.
 *   savePolicy (the API's only writer, behind PUT and rollback) must refuse it with 422 and
 *   save nothing; and a gateway given such a policy anyway (written with SQL, bypassing the
 *   API, as a policy saved before the rule would be) must not accept credentials through
 *   that entry: it answers 403 credentials_forbidden, while the tenant's other traffic
 *   keeps flowing (fail closed on the dangerous combination, not on the whole tenant).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rollbackPolicy } from "../../app/_lib/policy/rollback-policy";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { savePolicy } from "../../server/domain/policy/save-policy";
import { rejection } from "../helpers/app-error";
import { createTenant, query, type TenantFixture, updatePolicy } from "../helpers/fixtures";
import { eventually, expectRefusal, handshake, startGateway, type TestGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const actor = { id: null, label: "editor@example.com" };
let db: string;
let prisma: PrismaClient;
let gw: TestGateway;
let loopback: TenantFixture;
let bucket: TenantFixture;

beforeAll(async () => {
  db = await createTestDatabase("origin_rules");
  prisma = createPrisma(db);
  loopback = await createTenant(db, {
    policy: { origins: ["http://127.0.0.1", "http://[::1]:8080", "https://app.example.com"] },
  });
  // Written with SQL, as the review found it saved: no validation on this path.
  bucket = await createTenant(db, {
    policy: { origins: ["https://app.example.com", "https://*.amazonaws.com", "null"], credentials: "allow" },
  });
  gw = await startGateway(db);
});

afterAll(async () => {
  await gw?.stop();
  await prisma?.$disconnect();
});

const url = (t: TenantFixture) => `${gw.wsUrl}/t/${t.slug}/socket`;

interface AuditRow {
  origin: string | null;
  origin_normalized: string | null;
  reason: string;
  decision: string;
  matched_pattern: string | null;
}

/** The audit row of one handshake, once the pipeline has written it. */
function auditRow(tenant: TenantFixture, origin: string): Promise<AuditRow> {
  return eventually(async () => {
    const rows = await query<AuditRow>(
      db,
      `select origin, origin_normalized, reason, decision::text as decision, matched_pattern
         from audit_event where tenant = $1 and kind = 'handshake' and origin = $2`,
      [tenant.slug, origin],
    );
    return rows[0] ?? null;
  });
}

describe("an Origin a URL parser would rewrite is origin_malformed (issue 11 item 7)", () => {
  it("control: the canonical forms upgrade", async () => {
    for (const origin of ["http://127.0.0.1", "http://[::1]:8080", "HTTPS://APP.EXAMPLE.COM:443"]) {
      const outcome = await handshake(url(loopback), { origin });
      expect(outcome.status, origin).toBe(101);
      outcome.ws?.close();
    }
  });

  it.each([
    ["http://2130706433", "one number"],
    ["http://127.1", "short form"],
    ["http://0x7f.0.0.1", "hex part"],
    ["http://0177.0.0.1", "octal part"],
    ["http://127.0.0.1.", "trailing dot on an IP"],
    ["http://[0:0:0:0:0:0:0:1]:8080", "uncompressed IPv6"],
    ["http://[0::1]:8080", "zero written out"],
    ["https://xn--zz.example.com", "invalid punycode"],
  ])("%s (%s): 403 origin_malformed, audited as sent", async (origin) => {
    expect(await expectRefusal(url(loopback), { origin })).toMatchObject({ status: 403, reason: "origin_malformed" });
    expect(await auditRow(loopback, origin)).toEqual({
      origin,
      origin_normalized: null,
      reason: "origin_malformed",
      decision: "rejected",
      matched_pattern: null,
    });
  });
});

describe("credentials: allow never reaches other people's pages (issue 11 item 6)", () => {
  it("the gateway refuses the review's attack: Cookie from attacker-bucket.s3.amazonaws.com", async () => {
    const origin = "https://attacker-bucket.s3.amazonaws.com";
    const refused = await expectRefusal(url(bucket), { origin, headers: { Cookie: "session=victim" } });
    expect(refused).toMatchObject({ status: 403, reason: "credentials_forbidden" });
    expect(await auditRow(bucket, origin)).toMatchObject({
      reason: "credentials_forbidden",
      decision: "rejected",
      matched_pattern: "https://*.amazonaws.com",
    });
  });

  it("...and a Cookie with the null origin, or an Authorization header", async () => {
    expect(await expectRefusal(url(bucket), { origin: "null", headers: { Cookie: "session=victim" } })).toMatchObject({
      status: 403,
      reason: "credentials_forbidden",
    });
    expect(
      await expectRefusal(url(bucket), {
        origin: "https://x.s3.amazonaws.com",
        headers: { Authorization: "Basic dXNlcjpwYXNz" },
      }),
    ).toMatchObject({ status: 403, reason: "credentials_forbidden" });
  });

  it("while the same origins without credentials, and cookies from the tenant's own origin, still upgrade", async () => {
    for (const [origin, headers] of [
      ["https://attacker-bucket.s3.amazonaws.com", {}],
      ["null", {}],
      ["https://app.example.com", { Cookie: "session=real-user" }],
    ] as const) {
      const outcome = await handshake(url(bucket), { origin, headers });
      expect(outcome.status, origin).toBe(101);
      outcome.ws?.close();
    }
  });

  it("savePolicy (PUT) refuses the combinations with 422 and saves nothing", async () => {
    const before = await query<{ version: number }>(db, "select version from policy where tenant_id = $1", [bucket.id]);
    const document = {
      mode: "enforce",
      origins: [{ pattern: "https://app.example.com" }, { pattern: "https://*.amazonaws.com" }, { pattern: "null" }],
      credentials: "allow",
      token: "off",
      missingOrigin: "reject",
      subprotocols: [],
      limits: { maxMessageBytes: 1048576, idleTimeoutSeconds: 60, maxConnections: 100, handshakesPerMinutePerIp: 600 },
    };
    const error = await rejection(
      savePolicy({ db: prisma, slug: bucket.slug, expectedVersion: before[0]!.version, document, actor }),
    );
    expect(error.status).toBe(422);
    expect(error.code).toBe("validation_failed");
    expect(error.details).toEqual([
      { path: "origins[1].pattern", message: expect.stringContaining("s3.amazonaws.com") },
      { path: "origins[2].pattern", message: expect.stringContaining("sandboxed iframe") },
    ]);
    // The same document with credentials: forbid saves (the patterns themselves are legal).
    const saved = await savePolicy({
      db: prisma,
      slug: bucket.slug,
      expectedVersion: before[0]!.version,
      document: { ...document, credentials: "forbid" },
      actor,
    });
    expect(saved.policy.version).toBe(before[0]!.version + 1);
  });

  it("a rollback to a revision saved before the rule is refused too (today's rules apply)", async () => {
    // Version with the dangerous combination, written with SQL like an old revision.
    const old = await updatePolicy(db, bucket.id, {
      origins: ["https://*.amazonaws.com"],
      credentials: "allow",
    });
    await updatePolicy(db, bucket.id, { origins: ["https://app.example.com"], credentials: "allow" });
    const error = await rejection(rollbackPolicy({ db: prisma, slug: bucket.slug, toVersion: old, actor }));
    expect(error.status).toBe(422);
    expect(error.details).toEqual([
      { path: "origins[0].pattern", message: expect.stringContaining("public suffixes") },
    ]);
  });
});
