/**
 * The audit explorer's API against a real Postgres: the filters of the field list (client
 * address, user agent, path) and their validation, relative ranges, column sorting with keyset
 * pages (no overlap, no gap), facet counts (folded events weighted, a field's own filter left
 * out, the scan cap), the histogram split by reason, saved views (per user, normalized,
 * replaced by name, invisible to others, refused to API tokens), and "top rejected" origins
 * marked once the policy allows them. The plans of the new filters are checked with EXPLAIN.
 *
 * Every test seeds its own tenant slug, so filtering by it isolates the test's events.
 */
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { deleteView, listSavedViews, saveView } from "../../app/_lib/audit/audit-saved-views";
import { getAuditFacets, getAuditHistogram } from "../../app/_lib/audit/explore-audit-events";
import { getAuditStats } from "../../app/_lib/audit/get-audit-stats";
import { markAllowedOrigins } from "../../app/_lib/audit/mark-allowed-origins";
import { searchAuditEvents } from "../../app/_lib/audit/search-audit-events";
import type { Principal } from "../../app/_lib/auth/principal";
import { getPolicy } from "../../app/_lib/policy/get-policy";
import { summarizeAudit } from "../../server/audit/summary";
import { auditWhere, searchAudit } from "../../server/db/audit-queries";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { savePolicy } from "../../server/domain/policy/save-policy";
import { createTenant } from "../../server/domain/tenants/create-tenant";
import { rejection } from "../helpers/app-error";
import { createTestDatabase } from "../helpers/test-db";

const actor = { id: null, label: "explorer@example.com" };
let prisma: PrismaClient;
let pool: pg.Pool;

const slug = (prefix = "x") => `${prefix}-${randomBytes(4).toString("hex")}`;
const MIN = 60_000;

interface Seed {
  ago?: number;
  tenant: string | null;
  kind?: string;
  decision?: string | null;
  reason?: string | null;
  origin?: string | null;
  remoteAddr?: string | null;
  userAgent?: string;
  path?: string;
  count?: number;
  shadowDecision?: string;
  shadowReason?: string;
  shadowVersion?: number;
}

async function seed(events: Seed[]): Promise<string[]> {
  const ids: string[] = [];
  for (const e of events) {
    const { rows } = await pool.query<{ id: string }>(
      `insert into audit_event (ts, gateway_id, kind, tenant, decision, reason, origin, origin_normalized,
              remote_addr, user_agent, path, count, policy_version, shadow_decision, shadow_reason, shadow_version)
       values ($1, 'gw-test', $2::audit_kind, $3, $4::audit_decision, $5, $6, $6, $7, $8, $9, $10, 1,
               $11::audit_decision, $12, $13)
       returning id::text as id`,
      [
        new Date(Date.now() - (e.ago ?? 0)),
        e.kind ?? "handshake",
        e.tenant,
        e.decision === undefined ? "rejected" : e.decision,
        e.reason === undefined ? "origin_not_allowed" : e.reason,
        e.origin === undefined ? "https://evil.example" : e.origin,
        e.remoteAddr === undefined ? "203.0.113.7" : e.remoteAddr,
        e.userAgent ?? "Mozilla/5.0 Firefox",
        e.path ?? "/t/app/feed",
        e.count ?? 1,
        e.shadowDecision ?? null,
        e.shadowReason ?? null,
        e.shadowVersion ?? null,
      ],
    );
    ids.push(rows[0]!.id);
  }
  return ids;
}

async function zodPaths(promise: Promise<unknown>): Promise<string[]> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ZodError) return error.issues.map((i) => i.path.join("."));
    throw error;
  }
  throw new Error("expected a validation error");
}

const search = (query: Record<string, unknown>) => searchAuditEvents({ db: pool, query });

beforeAll(async () => {
  const url = await createTestDatabase("audit_explorer");
  prisma = createPrisma(url);
  pool = new pg.Pool({ connectionString: url, max: 4 });
});

afterAll(async () => {
  await prisma?.$disconnect();
  await pool?.end();
});

describe("filters, ranges and validation", () => {
  it("filters by client address, user agent (substring, any case) and path (prefix)", async () => {
    const tenant = slug();
    const [curl, bot, other] = await seed([
      { tenant, remoteAddr: "198.51.100.9", userAgent: "curl/8.5.0", path: "/t/app/feed" },
      { tenant, remoteAddr: "198.51.100.9", userAgent: "python-requests/2.31", path: "/admin/stream" },
      { tenant, remoteAddr: "2001:db8::1", userAgent: "Mozilla/5.0 Firefox", path: "/t/app/chat" },
    ]);
    const ids = async (q: Record<string, unknown>) => (await search({ tenant, ...q })).events.map((e) => e.id);
    expect(await ids({ remoteAddr: "198.51.100.9" })).toEqual([bot, curl]);
    expect(await ids({ remoteAddr: "2001:db8::1" })).toEqual([other]);
    expect(await ids({ userAgent: "CURL" })).toEqual([curl]);
    expect(await ids({ userAgent: "requests/" })).toEqual([bot]);
    expect(await ids({ path: "/t/app/" })).toEqual([other, curl]);
    expect(await ids({ path: "/t/app/chat" })).toEqual([other]);
    expect(await ids({ path: "/T/app/" })).toEqual([]);
    // LIKE wildcards in the text are literal.
    expect(await ids({ userAgent: "%/" })).toEqual([]);
    expect(await ids({ remoteAddr: "198.51.100.9", path: "/admin" })).toEqual([bot]);
  });

  it("filters on shadow decisions: shadow=differs, shadowDecision, shadowVersion (SPEC §5.2)", async () => {
    const tenant = slug();
    // Oldest first; the history answers newest first.
    const [newlyRefused, newlyAllowed, same, laterAllowed, refusedBoth, other] = await seed([
      {
        tenant,
        ago: 5 * MIN,
        decision: "accepted",
        reason: "allowed",
        origin: "https://checkout.example",
        shadowDecision: "rejected",
        shadowReason: "origin_not_allowed",
        shadowVersion: 2,
        count: 3,
      },
      {
        tenant,
        ago: 4 * MIN,
        origin: "https://partner.example",
        shadowDecision: "accepted",
        shadowReason: "allowed",
        shadowVersion: 2,
      },
      { tenant, ago: 3 * MIN, decision: "accepted", reason: "allowed", origin: "https://app.example" },
      {
        tenant,
        ago: 2 * MIN,
        origin: "https://partner.example",
        shadowDecision: "accepted",
        shadowReason: "allowed",
        shadowVersion: 3,
      },
      { tenant, ago: 1 * MIN, origin: "https://evil.example" },
      // Another tenant's differing event is never in this tenant's answers.
      { tenant: slug(), shadowDecision: "accepted", shadowReason: "allowed", shadowVersion: 2 },
    ]);
    const ids = async (q: Record<string, unknown>) => (await search({ tenant, ...q })).events.map((e) => e.id);
    expect(await ids({})).toEqual([refusedBoth, laterAllowed, same, newlyAllowed, newlyRefused]);
    expect(await ids({ shadow: "differs" })).toEqual([laterAllowed, newlyAllowed, newlyRefused]);
    expect(await ids({ shadowDecision: "rejected" })).toEqual([newlyRefused]);
    expect(await ids({ shadowDecision: "accepted" })).toEqual([laterAllowed, newlyAllowed]);
    expect(await ids({ shadowDecision: "report_only" })).toEqual([]);
    expect(await ids({ shadowVersion: "2" })).toEqual([newlyAllowed, newlyRefused]);
    expect(await ids({ shadowVersion: "3", shadowDecision: "accepted" })).toEqual([laterAllowed]);
    expect(await ids({ shadowVersion: "3", shadowDecision: "rejected" })).toEqual([]);
    expect(await ids({ shadow: "differs", decision: "accepted" })).toEqual([newlyRefused]);
    const everyTenant = (await search({ shadowVersion: "2" })).events.map((e) => e.id);
    expect(everyTenant).toEqual(expect.arrayContaining([other, newlyAllowed, newlyRefused]));
    // The events carry the shadow decision where there is one, and null elsewhere.
    const events = (await search({ tenant })).events;
    expect(events.find((e) => e.id === newlyRefused)).toMatchObject({
      decision: "accepted",
      shadowDecision: "rejected",
      shadowReason: "origin_not_allowed",
      shadowVersion: 2,
      count: 3,
    });
    expect(events.find((e) => e.id === same)).toMatchObject({
      shadowDecision: null,
      shadowReason: null,
      shadowVersion: null,
    });
    // The facet counts folded events by shadow decision.
    const facets = await getAuditFacets({ db: pool, query: { tenant, shadow: "differs" } });
    expect(facets.total).toBe(5);
    expect(facets.facets.shadowDecision).toEqual([
      { value: "rejected", count: 3 },
      { value: "accepted", count: 2 },
    ]);
    // Bad values are refused with their path (422 at the API).
    expect(await zodPaths(search({ tenant, shadow: "same" }))).toEqual(["shadow"]);
    expect(await zodPaths(search({ tenant, shadowDecision: "maybe" }))).toEqual(["shadowDecision"]);
    expect(await zodPaths(search({ tenant, shadowVersion: "0" }))).toEqual(["shadowVersion"]);
    expect(await zodPaths(search({ tenant, shadowVersion: "v2" }))).toEqual(["shadowVersion"]);
  });

  it("applies relative ranges, and refuses a range with since/until", async () => {
    const tenant = slug();
    const [old, recent] = await seed([
      { tenant, ago: 2 * 60 * MIN },
      { tenant, ago: 5 * MIN },
    ]);
    expect((await search({ tenant, range: "15m" })).events.map((e) => e.id)).toEqual([recent]);
    expect((await search({ tenant, range: "4h" })).events.map((e) => e.id)).toEqual([recent, old]);
    expect(await zodPaths(search({ tenant, range: "1h", since: "2026-01-01" }))).toEqual(["range"]);
    expect(await zodPaths(search({ range: "2h" }))).toEqual(["range"]);
  });

  it("answers bad parameters with the path of each problem (422 at the API)", async () => {
    expect(await zodPaths(search({ remoteAddr: "1.2.3.4; drop table" }))).toEqual(["remoteAddr"]);
    expect(await zodPaths(search({ path: "t/app" }))).toEqual(["path"]);
    expect(await zodPaths(search({ userAgent: "x" }))).toEqual(["userAgent"]);
    expect(await zodPaths(search({ sort: "-user_agent" }))).toEqual(["sort"]);
    expect(await zodPaths(search({ sort: "-count", cursor: "1700000000000_12" }))).toEqual(["cursor"]);
    expect(await zodPaths(search({ cursor: "1700000000000_12_abc" }))).toEqual(["cursor"]);
    // A count cursor holds an integer (base64url of "x" is "eA").
    expect(await zodPaths(search({ sort: "-count", cursor: "1700000000000_12_eA" }))).toEqual(["cursor"]);
    expect(await zodPaths(search({ sort: "-count", cursor: "1700000000000_12_~" }))).toEqual(["cursor"]);
    expect(await zodPaths(search({ sort: "-origin", cursor: "1700000000000_12_~~" }))).toEqual(["cursor"]);
    expect(await zodPaths(getAuditFacets({ db: pool, query: { kind: "whisper" } }))).toEqual(["kind"]);
    expect(await zodPaths(getAuditHistogram({ db: pool, query: { limit: "5" } }))).toEqual([""]);
  });
});

describe("sorting", () => {
  it("pages through every sort with keyset cursors: in order, no overlap, no gap", async () => {
    const tenant = slug();
    const counts = [3, 1, 7, 3, 1, 9, 2, 3, 5, 1, 3];
    await seed(
      counts.map((count, i) => ({
        tenant,
        count,
        ago: (counts.length - i) * MIN,
        origin: `https://o${i % 4}.example`,
        remoteAddr: `192.0.2.${i % 3}`,
      })),
    );
    for (const sort of ["-count", "count", "origin", "-origin", "remoteAddr", "ts", "-ts", "-reason", "tenant"]) {
      const seen: Array<{ id: string; count: number; origin: string | null; remoteAddr: string | null; ts: string }> =
        [];
      let cursor: string | undefined;
      for (let page = 0; page < 10; page++) {
        const result = await search({ tenant, sort, limit: "3", ...(cursor ? { cursor } : {}) });
        seen.push(...result.events);
        if (!result.nextCursor) break;
        cursor = result.nextCursor;
      }
      expect(new Set(seen.map((e) => e.id)).size, sort).toBe(counts.length);
      const column = sort.replace(/^-/, "");
      const key = (e: (typeof seen)[number]): [string | number, number, bigint] => [
        column === "count"
          ? e.count
          : column === "origin"
            ? (e.origin ?? "")
            : column === "remoteAddr"
              ? (e.remoteAddr ?? "")
              : column === "ts"
                ? Date.parse(e.ts)
                : "",
        Date.parse(e.ts),
        BigInt(e.id),
      ];
      const cmp = (a: (typeof seen)[number], b: (typeof seen)[number]) => {
        const [x, y] = [key(a), key(b)];
        for (let i = 0; i < 3; i++) if (x[i]! !== y[i]!) return x[i]! < y[i]! ? -1 : 1;
        return 0;
      };
      const sorted = [...seen].sort((a, b) => (sort.startsWith("-") ? -cmp(a, b) : cmp(a, b)));
      expect(
        seen.map((e) => e.id),
        sort,
      ).toEqual(sorted.map((e) => e.id));
    }
    expect((await search({ tenant, sort: "-count", limit: "1" })).events[0]!.count).toBe(9);
  });
});

describe("sorting with missing values", () => {
  it("puts events without a value last in either direction, paging across them without overlap or gap", async () => {
    const path = `/t/${slug("nulls")}/`;
    // Values and nulls mixed; ties on the value so pages split runs of equal values; folded counts around 1.
    const rows = [
      { tenant: "t-b", origin: "https://b.example", remoteAddr: "192.0.2.2", reason: "rate_limited", count: 1 },
      { tenant: null, origin: null, remoteAddr: null, reason: null, decision: null, kind: "dropped", count: 1 },
      { tenant: "t-a", origin: "https://a.example", remoteAddr: "192.0.2.1", reason: "origin_not_allowed", count: 4 },
      { tenant: null, origin: "https://b.example", remoteAddr: null, reason: "allowed", count: 1 },
      { tenant: "t-b", origin: null, remoteAddr: "192.0.2.2", reason: "origin_missing", count: 2 },
      { tenant: "t-a", origin: "https://a.example", remoteAddr: "2001:db8::1", reason: null, decision: null, count: 1 },
      { tenant: null, origin: null, remoteAddr: null, reason: "allowed", count: 7 },
      { tenant: "t-c", origin: "https://c.example", remoteAddr: "192.0.2.1", reason: "allowed", count: 2 },
      { tenant: "t-b", origin: "https://a.example", remoteAddr: null, reason: "origin_not_allowed", count: 1 },
    ];
    await seed(rows.map((r, i) => ({ ...r, path: `${path}${i}`, ago: (rows.length - i) * MIN })));
    type Event = Awaited<ReturnType<typeof search>>["events"][number];
    const sortValueOf = (e: Event, column: string): string | number | null =>
      column === "origin" ? (e.originNormalized ?? e.origin) : (e[column as keyof Event] as string | number | null);
    for (const column of ["tenant", "origin", "remoteAddr", "reason", "count"]) {
      for (const sort of [column, `-${column}`]) {
        for (const limit of ["1", "2", "4"]) {
          const seen: Event[] = [];
          let cursor: string | undefined;
          for (let page = 0; page < 20; page++) {
            const result = await search({ path, sort, limit, ...(cursor ? { cursor } : {}) });
            seen.push(...result.events);
            if (!result.nextCursor) break;
            cursor = result.nextCursor;
          }
          const label = `${sort} by ${limit}`;
          expect(new Set(seen.map((e) => e.id)).size, label).toBe(rows.length);
          expect(seen.length, label).toBe(rows.length);
          const desc = sort.startsWith("-") ? -1 : 1;
          const expected = [...seen].sort((a, b) => {
            const [x, y] = [sortValueOf(a, column), sortValueOf(b, column)];
            if (x !== y) {
              if (x === null) return 1; // no value: last, in either direction
              if (y === null) return -1;
              return (x < y ? -1 : 1) * desc;
            }
            return (Date.parse(a.ts) - Date.parse(b.ts) || Number(BigInt(a.id) - BigInt(b.id))) * desc;
          });
          expect(
            seen.map((e) => e.id),
            label,
          ).toEqual(expected.map((e) => e.id));
        }
      }
    }
    // The last page of -tenant holds the events without a tenant, and its cursor says so.
    const first = await search({ path, sort: "-tenant", limit: "6" });
    expect(first.events.map((e) => e.tenant)).toEqual(["t-c", "t-b", "t-b", "t-b", "t-a", "t-a"]);
    const second = await search({ path, sort: "-tenant", limit: "2", cursor: first.nextCursor! });
    expect(second.events.map((e) => e.tenant)).toEqual([null, null]);
    expect(second.nextCursor).toMatch(/^\d+_\d+_~$/);
    // A cursor of the earlier format (the value '' stood for none) is still accepted.
    const old = `${Date.now()}_${first.events[5]!.id}_`;
    expect((await search({ path, sort: "-tenant", limit: "10", cursor: old })).events.map((e) => e.tenant)).toEqual([
      null,
      null,
      null,
    ]);
  });
});

describe("facets (GET /api/v1/audit/facets)", () => {
  it("counts folded events, leaves a field's own filter out, and says when it counted a part only", async () => {
    const tenant = slug();
    await seed([
      { tenant, decision: "rejected", reason: "origin_not_allowed", remoteAddr: "192.0.2.1", count: 10 },
      { tenant, decision: "rejected", reason: "credentials_forbidden", remoteAddr: "192.0.2.2", count: 2 },
      { tenant, decision: "accepted", reason: "allowed", remoteAddr: "192.0.2.1", count: 1 },
      { tenant, kind: "close", decision: "accepted", reason: null, remoteAddr: "192.0.2.3", userAgent: "curl/8" },
    ]);
    const all = await getAuditFacets({ db: pool, query: { tenant } });
    expect(all.complete).toBe(true);
    expect(all.total).toBe(14);
    expect(all.scanned).toBe(4);
    expect(all.facets.decision).toEqual([
      { value: "rejected", count: 12 },
      { value: "accepted", count: 2 },
    ]);
    expect(all.facets.remoteAddr![0]).toEqual({ value: "192.0.2.1", count: 11 });
    expect(all.facets.reason).toContainEqual({ value: null, count: 1 });
    expect(all.facets.kind).toEqual([
      { value: "handshake", count: 13 },
      { value: "close", count: 1 },
    ]);
    // The tenant is filtered: its facet leaves that filter out (other tenants' counts show beside it).
    expect(all.facets.tenant).toContainEqual({ value: tenant, count: 14 });

    // decision=rejected: the decision facet still shows accepted; the others count refusals only.
    const refused = await getAuditFacets({ db: pool, query: { tenant, decision: "rejected" } });
    expect(refused.total).toBe(12);
    expect(refused.facets.decision).toEqual([
      { value: "rejected", count: 12 },
      { value: "accepted", count: 2 },
    ]);
    expect(refused.facets.remoteAddr).toEqual([
      { value: "192.0.2.1", count: 10 },
      { value: "192.0.2.2", count: 2 },
    ]);
    expect(refused.facets.userAgent).toEqual([{ value: "Mozilla/5.0 Firefox", count: 12 }]);

    // A tenant-scoped token's tenant filter is never left out: no other tenant is counted.
    const scoped = await getAuditFacets({ db: pool, query: { tenant }, scopedTenant: tenant });
    expect(scoped.facets.tenant).toEqual([{ value: tenant, count: 14 }]);

    const { auditFacets } = await import("../../server/db/audit-explore");
    const capped = await auditFacets(pool, { tenant }, { scanLimit: 2 });
    expect(capped.complete).toBe(false);
    expect(capped.scanned).toBe(2);
  });
});

describe("histogram (GET /api/v1/audit/histogram)", () => {
  it("counts events per bucket split by reason (kind when none), every bucket present", async () => {
    const tenant = slug();
    await seed([
      { tenant, ago: 50 * MIN, reason: "origin_not_allowed", count: 4 },
      { tenant, ago: 50 * MIN, decision: "accepted", reason: "allowed", count: 2 },
      { tenant, ago: 10 * MIN, reason: "credentials_forbidden" },
      { tenant, ago: 10 * MIN, kind: "close", decision: "accepted", reason: null },
      { tenant, ago: 3 * 60 * MIN, reason: "origin_not_allowed" },
    ]);
    const h = await getAuditHistogram({ db: pool, query: { tenant, range: "1h" } });
    expect(h.bucketSeconds).toBe(60);
    expect(h.buckets.length).toBeGreaterThanOrEqual(60);
    expect(h.buckets.length).toBeLessThanOrEqual(61);
    expect(h.series).toEqual(["origin_not_allowed", "allowed", "close", "credentials_forbidden"]);
    expect(h.buckets.reduce((n, b) => n + b.total, 0)).toBe(8);
    const at = (ago: number) =>
      h.buckets.find((b) => {
        const t = Date.now() - ago;
        return Date.parse(b.bucket) <= t && t < Date.parse(b.bucket) + 60_000;
      })!;
    expect(at(50 * MIN).counts).toEqual({ origin_not_allowed: 4, allowed: 2 });
    // Filters apply: refusals only.
    const refused = await getAuditHistogram({ db: pool, query: { tenant, range: "4h", decision: "rejected" } });
    expect(refused.bucketSeconds).toBe(300);
    expect(refused.series).toEqual(["origin_not_allowed", "credentials_forbidden"]);
    expect(refused.buckets.reduce((n, b) => n + b.total, 0)).toBe(6);
  });
});

describe("saved views (/api/v1/audit/views)", () => {
  async function user(): Promise<Principal> {
    const id = randomUUID();
    const email = `${id.slice(0, 8)}@example.com`;
    await pool.query(`insert into "user" (id, name, email) values ($1, $2, $3)`, [id, "Viewer", email]);
    return {
      kind: "user",
      id,
      email,
      name: "Viewer",
      role: "viewer",
      label: email,
      sessionId: "s",
      tenant: null,
      secondFactorPending: false,
    };
  }
  const viewActor = (p: Principal) => ({ id: p.id, label: p.label, kind: "user" as const });

  it("keeps each user's views, normalized, replaced by name, invisible to others", async () => {
    const alice = await user();
    const bob = await user();
    const saved = await saveView({
      db: prisma,
      principal: alice,
      actor: viewActor(alice),
      input: { name: "refusals", query: "?sort=-count&decision=rejected&range=7d&origin=" },
    });
    expect(saved.created).toBe(true);
    expect(saved.view.query).toBe("decision=rejected&range=7d&sort=-count");
    const replaced = await saveView({
      db: prisma,
      principal: alice,
      actor: viewActor(alice),
      input: { name: "refusals", query: "range=1h&remoteAddr=192.0.2.1" },
    });
    expect(replaced).toMatchObject({
      created: false,
      view: { id: saved.view.id, query: "remoteAddr=192.0.2.1&range=1h" },
    });
    expect((await listSavedViews({ db: prisma, principal: alice })).map((v) => v.name)).toEqual(["refusals"]);
    expect(await listSavedViews({ db: prisma, principal: bob })).toEqual([]);
    expect(
      await rejection(deleteView({ db: prisma, principal: bob, actor: viewActor(bob), id: saved.view.id })),
    ).toMatchObject({ code: "not_found" });
    await deleteView({ db: prisma, principal: alice, actor: viewActor(alice), id: saved.view.id });
    expect(await listSavedViews({ db: prisma, principal: alice })).toEqual([]);
    const { rows } = await pool.query<{ action: string }>("select action from activity where actor = $1 order by id", [
      alice.label,
    ]);
    expect(rows.map((r) => r.action)).toEqual(["audit_view.save", "audit_view.save", "audit_view.delete"]);
  });

  it("validates the query with the history's schema, and refuses API tokens", async () => {
    const carol = await user();
    const paths = await zodPaths(
      saveView({
        db: prisma,
        principal: carol,
        actor: viewActor(carol),
        input: { name: "bad", query: "range=2h&decision=maybe" },
      }),
    );
    expect(paths.sort()).toEqual(["query.decision", "query.range"]);
    expect(
      await zodPaths(
        saveView({ db: prisma, principal: carol, actor: viewActor(carol), input: { name: " ", query: "" } }),
      ),
    ).toEqual(["name"]);
    const token: Principal = {
      kind: "token",
      id: "t1",
      name: "ci",
      role: "admin",
      label: "token:ci",
      tenant: null,
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      policyAsCode: false,
    };
    expect(await rejection(listSavedViews({ db: prisma, principal: token }))).toMatchObject({ code: "forbidden" });
  });
});

describe("top rejected origins after an allow", () => {
  it("marks an origin the current policy allows, with its pattern; others stay unmarked", async () => {
    const tenant = slug("t");
    await createTenant({
      db: prisma,
      input: { slug: tenant, name: tenant },
      actor,
      document: {
        mode: "enforce",
        origins: [{ pattern: "https://app.example.com" }],
        credentials: "forbid",
        token: "off",
        missingOrigin: "reject",
        subprotocols: [],
        limits: {
          maxMessageBytes: 1048576,
          idleTimeoutSeconds: 60,
          maxConnections: 10000,
          handshakesPerMinutePerIp: 600,
        },
      },
    });
    await seed([
      { tenant, origin: "https://new.example.com", count: 5 },
      { tenant, origin: "https://evil.example", count: 3 },
      { tenant, origin: "https://app.example.com", reason: "credentials_forbidden", count: 2 },
    ]);
    const before = await markAllowedOrigins(prisma, await getAuditStats({ db: pool, tenant, window: "hour" }));
    expect(before.topRejected.map((r) => [r.origin, r.allowedBy])).toEqual([
      ["https://new.example.com", null],
      ["https://evil.example", null],
      // Refused for its cookies, not its origin: nothing to mark.
      ["https://app.example.com", null],
    ]);
    const { version, ...document } = await getPolicy({ db: prisma, slug: tenant });
    await savePolicy({
      db: prisma,
      slug: tenant,
      expectedVersion: version,
      document: { ...document, origins: [...document.origins, { pattern: "https://*.example.com" }] },
      actor,
    });
    const after = await markAllowedOrigins(prisma, await getAuditStats({ db: pool, tenant, window: "hour" }));
    expect(after.topRejected.map((r) => [r.origin, r.allowedBy])).toEqual([
      ["https://new.example.com", "https://*.example.com"],
      ["https://evil.example", null],
      ["https://app.example.com", null],
    ]);
  });
});

describe("plans (EXPLAIN) on a few hundred thousand events", () => {
  it("serves the new filters and sorts from indexes, newest first, without sorting the table", async () => {
    const tenant = slug("big");
    // 300,000 events over the last 3 days, 1 in 20 refused, a few hundred client addresses;
    // 1 in 10 each without a tenant, an origin, a client address, a reason; 1 in 10 folded.
    await pool.query(
      `insert into audit_event (ts, gateway_id, kind, tenant, decision, reason, origin, origin_normalized, remote_addr,
              user_agent, path, count, policy_version)
       select now() - (g * interval '850 milliseconds'), 'gw-bench', 'handshake',
              case when g % 10 <> 2 then $1 end,
              case when g % 20 = 0 then 'rejected' else 'accepted' end::audit_decision,
              case when g % 20 = 0 then 'origin_not_allowed' when g % 10 <> 6 then 'allowed' end,
              case when g % 10 <> 3 then 'https://o' || (g % 500) || '.example' end,
              case when g % 10 <> 3 then 'https://o' || (g % 500) || '.example' end,
              case when g % 10 <> 4 then '10.0.' || (g % 250) || '.' || (g % 7) end, 'agent/' || (g % 30),
              '/t/app/' || (g % 9), case when g % 10 = 5 then 3 else 1 end, 1
         from generate_series(1, 300000) as g`,
      [tenant],
    );
    await pool.query("analyze audit_event");
    const plan = async (query: Record<string, string>, order = "ts desc, id desc") => {
      const values: unknown[] = [];
      const where = auditWhere(query as never, values);
      const { rows } = await pool.query<{ "QUERY PLAN": string }>(
        `explain select id from audit_event ${where.length ? `where ${where.join(" and ")}` : ""} order by ${order} limit 51`,
        values,
      );
      return rows.map((r) => r["QUERY PLAN"]).join("\n");
    };
    // Refusals from one client address: the partial (remote_addr, ts, id) index of refusals.
    const byAddress = await plan({ decision: "rejected", remoteAddr: "10.0.20.6", range: "7d" });
    expect(byAddress).toMatch(/Index Scan on audit_event_\w*remote_addr_ts_id_idx/);
    // Substring filters walk the time index newest first and stop at the page: no sort of the table.
    const byAgent = await plan({ userAgent: "agent/1", range: "24h" });
    expect(byAgent).toMatch(/Index Scan Backward|Merge Append/);
    expect(byAgent).not.toMatch(/^\s*->\s*Sort\b/m);
    // The statements searchAudit runs, explained: each branch reads its page from an index
    // that yields the page's order; a Sort is only of the branches' pages (under a Limit), or of
    // a run the planner expects to be (nearly) empty, never of the matching rows themselves.
    interface PlanNode {
      "Node Type": string;
      "Plan Rows": number;
      "Relation Name"?: string;
      "Index Name"?: string;
      Plans?: PlanNode[];
    }
    const unboundedSorts = (node: PlanNode, sorting = false): string[] => {
      const bigSort = node["Node Type"] === "Sort" && node["Plan Rows"] > 100;
      const inSort = bigSort ? true : node["Node Type"] === "Limit" ? false : sorting;
      const here = inSort && node["Relation Name"] ? [`${node["Node Type"]} on ${node["Relation Name"]}`] : [];
      return [...here, ...(node.Plans ?? []).flatMap((child) => unboundedSorts(child, inSort))];
    };
    const indexesOf = (node: PlanNode): string[] => [
      ...(node["Index Name"] ? [node["Index Name"]] : []),
      ...(node.Plans ?? []).flatMap(indexesOf),
    ];
    const plans = async (query: Record<string, string>) => {
      const out: PlanNode[] = [];
      const recorder = {
        query: async <R extends object>(text: string, values?: unknown[]) => {
          const result = await pool.query<R>(text, values);
          if (/from audit_event\b/.test(text)) {
            if (process.env.SHOW_PLANS) console.log(text);
            const { rows } = await pool.query<{ "QUERY PLAN": Array<{ Plan: PlanNode }> }>(
              `explain (format json) ${text}`,
              values,
            );
            out.push(rows[0]!["QUERY PLAN"][0]!.Plan);
            if (process.env.SHOW_PLANS) {
              const shown = await pool.query<{ "QUERY PLAN": string }>(`explain ${text}`, values);
              console.log(shown.rows.map((r) => r["QUERY PLAN"]).join("\n"));
            }
          }
          return result;
        },
      };
      await searchAudit(recorder, { range: "7d", limit: 50, ...query });
      const plan: PlanNode = out.length === 1 ? out[0]! : { "Node Type": "statements", "Plan Rows": 0, Plans: out };
      return {
        sorts: unboundedSorts(plan),
        indexes: [...new Set(indexesOf(plan).map((i) => i.replace(/^audit_event_(p\d+|default)_/, "")))],
      };
    };
    for (const sort of ["-tenant", "origin", "-remoteAddr", "reason", "-count", "count"]) {
      const plan = await plans({ sort });
      expect(plan.sorts, sort).toEqual([]);
    }
    expect((await plans({ sort: "-tenant" })).indexes).toContain("tenant_ts_id_idx");
    // (a partition names its copy of the origin expression index coalesce_ts_id_idx)
    expect((await plans({ sort: "origin" })).indexes).toContain("coalesce_ts_id_idx");
    expect((await plans({ sort: "-remoteAddr" })).indexes).toContain("remote_addr_ts_id_idx");
    // A client address without a decision: the (remote_addr, ts, id) index.
    expect((await plans({ remoteAddr: "10.0.20.6" })).indexes).toEqual(["remote_addr_ts_id_idx"]);
    // A path prefix matching nothing: the pattern index, not a walk of the table.
    // (partitions name their copies by the columns: path_idx, hashtext_ts_id_idx)
    expect((await plans({ path: "/nothing/" })).indexes.join()).toMatch(/\bpath_(pattern_)?idx/);
    // A user agent found in the dictionary: by its hash, in time order.
    await summarizeAudit({ pool, maxRows: 1_000_000 });
    const agent = await plans({ userAgent: "AGENT/17" });
    expect(agent.indexes.join()).toMatch(/(hashtext|user_agent_hash)_ts_id_idx/);
    expect(agent.sorts).toEqual([]);
  });
});
