/**
 * The impact preview against real traffic (SPEC §5.2): clients handshake with a real gateway
 * process; their audit rows (part summarized into the rollup, part after the watermark) are
 * replayed against a draft; the draft is then saved and the same clients handshake again.
 * What the preview said the draft would newly refuse and newly admit must be exactly what
 * enforcement then did, by origin, reason and count. Also: what the audit rows hold for
 * replay (never a token or a cookie), and that an invalid draft is refused. Entry usage: hits
 * and last match per allowlist entry from the same rollup, unused old entries flagged.
 */
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getEntryUsage } from "../../app/_lib/policy/get-entry-usage";
import { previewImpact } from "../../app/_lib/policy/preview-impact";
import { summarizeAudit } from "../../server/audit/summary";
import { createPool } from "../../server/db/pool";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { savePolicy } from "../../server/domain/policy/save-policy";
import { signHandshakeToken } from "../../server/policy";
import { rejection } from "../helpers/app-error";
import { createTenant, type TenantFixture } from "../helpers/fixtures";
import { eventually, handshake, type ProcessGateway, spawnGateway } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const CHECKOUT = "https://checkout.acme.test";
const APP = "https://app.acme.test";
const PARTNER = "https://partner.example.test";

let url: string;
let pool: pg.Pool;
let db: PrismaClient;
let gw: ProcessGateway;
let tenant: TenantFixture;

interface Client {
  origin: string | null;
  protocols?: string[];
  cookie?: boolean;
  times: number;
}

/** Every client's handshakes; the outcome of each (allowed, or the refusal's reason) by origin. */
async function runClients(clients: Client[]): Promise<Map<string, { allowed: number; refused: Map<string, number> }>> {
  const outcomes = new Map<string, { allowed: number; refused: Map<string, number> }>();
  for (const client of clients) {
    for (let i = 0; i < client.times; i++) {
      const outcome = await handshake(`${gw.wsUrl}/t/${tenant.slug}/live`, {
        origin: client.origin,
        protocols: client.protocols,
        headers: client.cookie ? { Cookie: "session=secret-cookie-value" } : {},
      });
      outcome.ws?.close();
      const key = client.origin ?? "(none)";
      const entry = outcomes.get(key) ?? { allowed: 0, refused: new Map<string, number>() };
      if (outcome.status === 101) entry.allowed++;
      else entry.refused.set(outcome.reason ?? "?", (entry.refused.get(outcome.reason ?? "?") ?? 0) + 1);
      outcomes.set(key, entry);
    }
  }
  return outcomes;
}

/** Waits until the audit trail holds `n` replayable handshakes of the tenant (folded rows count by `count`). */
async function auditHolds(n: number): Promise<void> {
  await eventually(
    async () => {
      const { rows } = await pool.query<{ n: string }>(
        "select coalesce(sum(count), 0)::text as n from audit_event where tenant = $1 and kind = 'handshake' and token_state is not null",
        [tenant.slug],
      );
      return Number(rows[0]?.n) === n;
    },
    15_000,
    50,
  );
}

const token = (secret: string) =>
  signHandshakeToken({ aud: tenant.slug, exp: Math.floor(Date.now() / 1000) + 600, sub: "u1" }, secret);

beforeAll(async () => {
  url = await createTestDatabase("impact");
  pool = createPool(url, { max: 3 });
  db = createPrisma(url);
  tenant = await createTenant(url, {
    policy: { origins: [CHECKOUT, APP], credentials: "forbid", token: "off", subprotocols: [] },
  });
  gw = await spawnGateway(url);
});

afterAll(async () => {
  await gw?.stop();
  await db?.$disconnect();
  await pool?.end();
});

describe("impact preview", () => {
  it("shows what the draft would newly refuse and admit, and enforcement then does exactly that", async () => {
    const valid = `bearer.${token(tenant.tokenSecret)}`;
    const clients: Client[] = [
      { origin: CHECKOUT, times: 4, protocols: ["chat", valid] },
      { origin: CHECKOUT, times: 3 }, // no token: refused once tokens are required
      { origin: APP, times: 2, protocols: ["chat", "bearer.forged"] }, // invalid token
      { origin: APP, times: 2, protocols: ["v1", valid] }, // valid token, subprotocol the draft refuses
      { origin: PARTNER, times: 3, protocols: ["chat", valid] }, // refused now, admitted by the draft
      { origin: APP, times: 1, cookie: true }, // refused before and after
      { origin: "https://checkout.acme.test/path", times: 1 }, // malformed before and after
      { origin: null, times: 1 }, // missing before and after
    ];
    const total = clients.reduce((sum, c) => sum + c.times, 0);
    const half = Math.ceil(clients.length / 2);

    // Half the traffic gets summarized into the rollup; the rest stays after the watermark.
    const before1 = await runClients(clients.slice(0, half));
    await auditHolds(clients.slice(0, half).reduce((sum, c) => sum + c.times, 0));
    await summarizeAudit({ pool, budgetMs: 30_000 });
    const before2 = await runClients(clients.slice(half));
    await auditHolds(total);

    // Nothing secret is recorded for replay: only that a cookie came and the token's state.
    const { rows: facts } = await pool.query<{
      origin: string | null;
      credentials: boolean;
      token_state: string;
      offered_subprotocols: string;
      n: string;
    }>(
      `select origin, credentials, token_state, offered_subprotocols, sum(count)::text as n from audit_event
        where tenant = $1 and kind = 'handshake' group by 1, 2, 3, 4`,
      [tenant.slug],
    );
    expect(JSON.stringify(facts)).not.toContain("secret-cookie-value");
    expect(JSON.stringify(facts)).not.toContain(tenant.tokenSecret);
    expect(JSON.stringify(facts)).not.toContain("forged");
    expect(facts).toContainEqual({
      origin: APP,
      credentials: false,
      token_state: "invalid",
      offered_subprotocols: "chat",
      n: "2",
    });
    expect(facts).toContainEqual({
      origin: APP,
      credentials: true,
      token_state: "none",
      offered_subprotocols: "",
      n: "1",
    });
    expect(facts).toContainEqual({
      origin: PARTNER,
      credentials: false,
      token_state: "valid",
      offered_subprotocols: "chat",
      n: "3",
    });

    const draft = {
      origins: [{ pattern: CHECKOUT }, { pattern: APP }, { pattern: PARTNER }],
      credentials: "forbid",
      token: "required",
      subprotocols: ["chat"],
    };
    const preview = await previewImpact({ db, slug: tenant.slug, document: draft, auditDb: pool });
    expect(preview.evaluated).toBe(total);
    expect(preview.activeVersion).toBe(1);
    expect(preview.newlyRefused).toEqual([
      { origin: CHECKOUT, reason: "token_missing", count: 3 },
      { origin: APP, reason: "subprotocol_not_allowed", count: 2 },
      { origin: APP, reason: "token_invalid", count: 2 },
    ]);
    expect(preview.newlyAllowed).toEqual([{ origin: PARTNER, count: 3 }]);

    // Save, wait until the gateway enforces it, and replay the same clients for real.
    await savePolicy({
      db,
      slug: tenant.slug,
      expectedVersion: 1,
      document: draft,
      actor: { id: null, label: "test@example.com" },
    });
    await eventually(
      async () => {
        const { rows } = await pool.query<{ v: Record<string, number> }>(
          "select enforced_versions as v from gateway_instance where id = $1",
          [gw.id],
        );
        return rows[0]?.v[tenant.slug] === 2;
      },
      15_000,
      50,
    );
    const after = await runClients(clients);

    // What enforcement newly refused and newly admitted, per origin and reason, from the outcomes.
    const before = new Map([...before1, ...before2]);
    for (const [origin, entry] of before2) {
      const first = before1.get(origin);
      if (first) {
        first.allowed += entry.allowed;
        for (const [r, n] of entry.refused) first.refused.set(r, (first.refused.get(r) ?? 0) + n);
        before.set(origin, first);
      }
    }
    const newlyRefused: Array<{ origin: string; reason: string; count: number }> = [];
    const newlyAllowed: Array<{ origin: string; count: number }> = [];
    for (const [origin, now] of after) {
      const then = before.get(origin)!;
      const refusedNow = [...now.refused.values()].reduce((a, b) => a + b, 0);
      const refusedThen = [...then.refused.values()].reduce((a, b) => a + b, 0);
      if (now.allowed < then.allowed) {
        // Those that were admitted and are refused now, by the reasons that appeared.
        for (const [reason, n] of now.refused) {
          const extra = n - (then.refused.get(reason) ?? 0);
          if (extra > 0) newlyRefused.push({ origin, reason, count: extra });
        }
      }
      if (refusedNow < refusedThen) newlyAllowed.push({ origin, count: refusedThen - refusedNow });
    }
    const sortKey = (e: { origin: string; reason?: string }) => `${e.origin} ${e.reason ?? ""}`;
    const bySort = (a: { origin: string; reason?: string }, b: { origin: string; reason?: string }) =>
      sortKey(a).localeCompare(sortKey(b));
    expect(newlyRefused.sort(bySort)).toEqual(
      preview.newlyRefused
        .map((e) => ({ origin: e.origin ?? "(none)", reason: e.reason, count: e.count }))
        .sort(bySort),
    );
    expect(newlyAllowed.sort(bySort)).toEqual(
      preview.newlyAllowed.map((e) => ({ origin: e.origin ?? "(none)", count: e.count })).sort(bySort),
    );
  });

  it("refuses an invalid draft (422, nothing replayed) and an unknown tenant (404)", async () => {
    const invalid = await rejection(
      previewImpact({ db, slug: tenant.slug, document: { origins: [{ pattern: "*.com" }] }, auditDb: pool }),
    );
    expect(invalid.status).toBe(422);
    const unknown = await rejection(
      previewImpact({ db, slug: "no-such-tenant", document: { origins: [] }, auditDb: pool }),
    );
    expect(unknown.status).toBe(404);
    const future = await rejection(
      previewImpact({
        db,
        slug: tenant.slug,
        document: { origins: [] },
        since: new Date(Date.now() + 60_000).toISOString(),
        auditDb: pool,
      }),
    );
    expect(future.status).toBe(422);
  });

  it("counts each entry's matches and flags old entries that matched nothing", async () => {
    const stale = "https://old-partner.example.test";
    const fresh = "https://new-partner.example.test";
    const usageTenant = await createTenant(url, { policy: { origins: [CHECKOUT, "https://*.acme.test", stale] } });
    // The three entries are 60 days old; one more is added today.
    await pool.query("update allowed_origin set created_at = now() - interval '60 days' where tenant_id = $1", [
      usageTenant.id,
    ]);
    await pool.query("insert into allowed_origin (id, tenant_id, pattern) values (gen_random_uuid(), $1, $2)", [
      usageTenant.id,
      fresh,
    ]);
    await eventually(
      async () => {
        const { rows } = await pool.query<{ v: Record<string, number> }>(
          "select enforced_versions as v from gateway_instance where id = $1",
          [gw.id],
        );
        return rows[0]?.v[usageTenant.slug] !== undefined;
      },
      15_000,
      50,
    );
    const connect = async (origin: string) => {
      const outcome = await handshake(`${gw.wsUrl}/t/${usageTenant.slug}/live`, { origin });
      outcome.ws?.close();
      expect(outcome.status).toBe(101);
    };
    for (let i = 0; i < 3; i++) await connect(CHECKOUT);
    await connect("https://shop.acme.test");
    const matched = async (n: number) =>
      eventually(
        async () => {
          const { rows } = await pool.query<{ n: string }>(
            "select coalesce(sum(count), 0)::text as n from audit_event where tenant = $1 and kind = 'handshake' and matched_pattern is not null",
            [usageTenant.slug],
          );
          return Number(rows[0]?.n) === n;
        },
        15_000,
        50,
      );
    await matched(4);
    await summarizeAudit({ pool, budgetMs: 30_000 });
    await connect(CHECKOUT); // after the watermark
    await matched(5);

    const report = await getEntryUsage({ db, slug: usageTenant.slug, days: 30, auditDb: pool });
    const byPattern = new Map(report.entries.map((e) => [e.pattern, e]));
    expect(byPattern.get(CHECKOUT)).toMatchObject({ hits: 4, unused: false });
    expect(byPattern.get(CHECKOUT)?.lastMatch).not.toBeNull();
    expect(byPattern.get("https://*.acme.test")).toMatchObject({ hits: 1, unused: false });
    expect(byPattern.get(stale)).toMatchObject({ hits: 0, lastMatch: null, unused: true });
    expect(byPattern.get(fresh)).toMatchObject({ hits: 0, unused: false }); // too new to call stale
  });
});
