/**
 * Regression tests of the security review (issue 11) against a real gateway *process*
 * (`server/main.ts`, configured through its environment) and Postgres:
 *
 * - item 2: handshakes to unknown slugs are rate-limited per client address before the
 *   tenant lookup (`UNKNOWN_TENANT_RATE_PER_MIN`): past the budget every slug answers 429,
 *   known or not; the limiter holds one counter per address, never one per slug (gauge);
 *   metric labels never take a slug; audit rows of unknown slugs are clipped, and the
 *   refusals of the budget fold into rows with exact counts;
 * - item 8: behind a trusted proxy (`TRUST_PROXY=true`), a client cannot pick its own
 *   address with a left-most X-Forwarded-For entry, so it cannot escape the rate limit;
 * - item 16: a repeated `access_token` (`?access_token=VALID&access_token=garbage`) is
 *   refused as ambiguous.
 * And the bound itself (in process, with a small bound): addresses sprayed through
 * X-Forwarded-For never grow the limiter beyond `origingate_rate_limiter_max_keys`.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEXT_LIMITS } from "../../server/clip";
import { parseTrustProxy } from "../../server/net/client-address";
import { signHandshakeToken } from "../../server/policy";
import { createTenant, query, type TenantFixture } from "../helpers/fixtures";
import {
  eventually,
  expectRefusal,
  handshake,
  type ProcessGateway,
  rawRequest,
  spawnGateway,
  startGateway,
  type TestGateway,
  upgradeRequest,
} from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

const ORIGIN = "https://app.example.com";
const BUDGET = 50;

let db: string;
let gw: ProcessGateway;
let known: TenantFixture;
let rated: TenantFixture;
let tokens: TenantFixture;

beforeAll(async () => {
  db = await createTestDatabase("gwinput");
  known = await createTenant(db, { policy: { origins: [ORIGIN] } });
  rated = await createTenant(db, { policy: { origins: [ORIGIN], limits: { handshakesPerMinutePerIp: 3 } } });
  tokens = await createTenant(db, { policy: { origins: [ORIGIN], token: "required" } });
  gw = await spawnGateway(db, {
    TRUST_PROXY: "true",
    UNKNOWN_TENANT_RATE_PER_MIN: String(BUDGET),
    AUDIT_FLUSH_MS: "20",
  });
});

afterAll(async () => {
  await gw?.stop();
});

const randomSlug = (length = 12) => randomBytes(length).toString("hex").slice(0, length);

/** One raw handshake to `path` from the client address `client` (the trusted proxy's X-Forwarded-For). */
async function raw(path: string, client: string, extra: Record<string, string> = {}) {
  return rawRequest(gw.port, upgradeRequest(path, { Origin: ORIGIN, "X-Forwarded-For": client, ...extra }));
}

async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

/** The value of one series, 0 when absent. */
function value(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe("unknown tenants are rate-limited per address before the tenant lookup (issue 11 item 2)", () => {
  const flooder = "198.51.100.23";
  const bystander = "198.51.100.99";
  const longSlug = "x".repeat(3000);
  const slugs: string[] = [];

  it("answers 404 within the budget, then 429 for every slug — known ones included — while another address is served", async () => {
    // Within the budget: distinct unknown slugs (one of them 3,000 characters long) → 404.
    for (let i = 0; i < BUDGET; i++) {
      const slug = i === 0 ? longSlug : randomSlug();
      slugs.push(slug);
      const res = await raw(`/t/${slug}/x`, flooder);
      expect([res.status, res.headers["x-origingate-reason"]]).toEqual([404, "tenant_unknown"]);
    }
    // Past it: 429 whatever the slug, so existence can no longer be probed either.
    const after: Array<[number, string | undefined]> = [];
    for (let i = 0; i < 200; i++) {
      const res = await raw(`/t/${randomSlug()}/x`, flooder);
      after.push([res.status, res.headers["x-origingate-reason"]]);
      if (i === 0) {
        const retryAfter = Number(res.headers["retry-after"]);
        expect(retryAfter >= 1 && retryAfter <= 60).toBe(true);
      }
    }
    expect(new Set(after.map(([status, reason]) => `${status} ${reason}`))).toEqual(new Set(["429 rate_limited"]));
    const knownFromFlooder = await raw(`/t/${known.slug}/x`, flooder);
    expect([knownFromFlooder.status, knownFromFlooder.headers["x-origingate-reason"]]).toEqual([429, "rate_limited"]);

    // Another client address is unaffected.
    const ok = await handshake(`${gw.wsUrl}/t/${known.slug}/x`, {
      origin: ORIGIN,
      headers: { "X-Forwarded-For": bystander },
    });
    expect(ok.status).toBe(101);
    ok.ws!.close();
    const unknown = await raw(`/t/${randomSlug()}/x`, bystander);
    expect(unknown.status).toBe(404);
  });

  it("holds one limiter counter per address, and no metric label carries a slug", async () => {
    const text = await scrape(gw.httpUrl);
    // Two addresses made unverified handshakes (flooder, bystander): two counters, not 250.
    expect(value(text, 'origingate_rate_limiter_keys{limiter="unverified"}')).toBe(2);
    expect(value(text, "origingate_rate_limiter_max_keys")).toBeGreaterThan(0);
    for (const slug of slugs.slice(1)) expect(text).not.toContain(slug);
    expect(text).not.toContain("xxxxxxxx");
    expect(
      value(text, 'origingate_handshakes_total{tenant="_unknown",decision="rejected",reason="rate_limited"}'),
    ).toBe(201);
  });

  it("audits them with exact counts: unknown slugs clipped, budget refusals folded without a tenant", async () => {
    const rows = await eventually(async () => {
      const r = await query<{ reason: string; n: number; longest: number; rows: number }>(
        db,
        `select reason, sum(count)::int as n, max(length(coalesce(tenant, '')))::int as longest, count(*)::int as rows
           from audit_event where remote_addr = $1 and kind = 'handshake' group by reason order by reason`,
        [flooder],
      );
      const total = r.reduce((n, x) => n + x.n, 0);
      return total === BUDGET + 201 ? r : null;
    }, 15_000);
    const byReason = Object.fromEntries(rows.map((r) => [r.reason, r]));
    expect(byReason.tenant_unknown!.n).toBe(BUDGET);
    expect(byReason.tenant_unknown!.longest).toBeLessThanOrEqual(TEXT_LIMITS.tenant);
    expect(byReason.rate_limited!.n).toBe(201);
    // Folded: a flood of identical refusals is a few rows, not one per handshake.
    expect(byReason.rate_limited!.rows).toBeLessThan(201);
    const unnamed = await query<{ n: number }>(
      db,
      "select count(*)::int as n from audit_event where remote_addr = $1 and reason = 'rate_limited' and tenant is not null",
      [flooder],
    );
    expect(unnamed[0]!.n).toBe(0);
  });
});

describe("a client behind a trusted proxy cannot pick its address (issue 11 item 8)", () => {
  it("the right-most untrusted X-Forwarded-For entry is the client: a rotating left-most entry does not escape the limit", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      // What a client behind one proxy sends: its own (forged) X-Forwarded-For, to which the
      // proxy appends the address it really saw (203.0.113.7).
      const forged = `10.${i}.${i}.${i}`;
      const outcome = await handshake(`${gw.wsUrl}/t/${rated.slug}/x`, {
        origin: ORIGIN,
        headers: { "X-Forwarded-For": `${forged}, 203.0.113.7` },
      });
      statuses.push(outcome.status);
      outcome.ws?.close();
    }
    expect(statuses).toEqual([101, 101, 101, 429, 429]);
    const rows = await eventually(async () => {
      const r = await query<{ remote_addr: string; n: number }>(
        db,
        "select remote_addr, sum(count)::int as n from audit_event where tenant = $1 and kind = 'handshake' group by remote_addr",
        [rated.slug],
      );
      return r.reduce((n, x) => n + x.n, 0) === 5 ? r : null;
    });
    expect(rows).toEqual([{ remote_addr: "203.0.113.7", n: 5 }]);
  });
});

describe("a repeated access_token is ambiguous (issue 11 item 16)", () => {
  const jwt = () =>
    signHandshakeToken({ aud: tokens.slug, exp: Math.floor(Date.now() / 1000) + 60 }, tokens.tokenSecret);
  const from = { headers: { "X-Forwarded-For": "198.51.100.77" }, origin: ORIGIN };

  it("?access_token=VALID&access_token=garbage → 401 token_invalid, and VALID twice too; once → 101", async () => {
    const valid = jwt();
    const pairs = await expectRefusal(
      `${gw.wsUrl}/t/${tokens.slug}/x?access_token=${valid}&access_token=garbage`,
      from,
    );
    expect([pairs.status, pairs.reason]).toEqual([401, "token_invalid"]);
    const reversed = await expectRefusal(
      `${gw.wsUrl}/t/${tokens.slug}/x?access_token=garbage&access_token=${valid}`,
      from,
    );
    expect([reversed.status, reversed.reason]).toEqual([401, "token_invalid"]);
    const twice = await expectRefusal(
      `${gw.wsUrl}/t/${tokens.slug}/x?access_token=${valid}&access_token=${valid}`,
      from,
    );
    expect([twice.status, twice.reason]).toEqual([401, "token_invalid"]);
    const once = await handshake(`${gw.wsUrl}/t/${tokens.slug}/x?access_token=${valid}`, from);
    expect(once.status).toBe(101);
    once.ws!.close();
  });
});

describe("the limiters stay within their bound whatever the addresses (in process, small bound)", () => {
  let local: TestGateway;
  let localDb: string;

  beforeAll(async () => {
    localDb = await createTestDatabase("gwbound");
    local = await startGateway(localDb, {
      trustProxy: parseTrustProxy("true"),
      rateLimits: { unknownTenantPerMinute: 3, maxKeys: 40 },
    });
  });

  afterAll(async () => {
    await local?.stop();
  });

  it("2,000 sprayed addresses × unknown slugs: origingate_rate_limiter_keys never exceeds origingate_rate_limiter_max_keys", async () => {
    let maxSeen = 0;
    let bound = 0;
    for (let batch = 0; batch < 40; batch++) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => {
          const n = batch * 50 + i;
          const address = `2001:db8:${(n >> 8).toString(16)}::${(n & 255).toString(16)}`;
          return rawRequest(
            local.port,
            upgradeRequest(`/t/${randomSlug()}/x`, { Origin: ORIGIN, "X-Forwarded-For": address }),
          );
        }),
      );
      const text = await scrape(local.httpUrl);
      bound = value(text, "origingate_rate_limiter_max_keys");
      maxSeen = Math.max(maxSeen, value(text, 'origingate_rate_limiter_keys{limiter="unverified"}'));
    }
    expect(bound).toBe(40);
    expect(maxSeen).toBeGreaterThan(0);
    expect(maxSeen).toBeLessThanOrEqual(bound);
  });
});
