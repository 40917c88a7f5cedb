/**
 * The impact replay (server/policy/replay-impact.ts): recorded tuples decided by the engine
 * under the active version and a draft. Table-driven per kind of change, plus a property:
 * swapping draft and active swaps "newly refused" and "newly allowed" totals, and the
 * per-origin probes give exactly what deciding every tuple one by one gives, also when the
 * tuples come folded into the rollup's groups (replayGroups). Also the token
 * state the gateway records (presentedTokenState) and the stored subprotocol list.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compileForReplay,
  decodeOfferedSubprotocols,
  defaultPolicyDocument,
  encodeOfferedSubprotocols,
  type PolicyDocument,
  parsePolicyDocument,
  presentedTokenState,
  type ReplayGroup,
  type ReplayGroupTotal,
  ReplayProbes,
  type ReplayTuple,
  replayGroups,
  replayImpact,
  replayVariantIndex,
  signHandshakeToken,
} from "../../server/policy";
import { compilePolicy } from "../../server/policy/compile-policy";
import { decideHandshake } from "../../server/policy/decide-handshake";
import { ReplayRequests } from "../../server/policy/replay-impact";

const NOW = Date.parse("2026-12-02T12:00:00Z");
const TENANT = "acme";
const A = "https://checkout.acme.com";
const B = "https://app.acme.com";
const C = "https://partner.example.com";

type DocChanges = Partial<Omit<PolicyDocument, "origins">> & {
  origins?: Array<string | { pattern: string; expiresAt?: string }>;
};

function doc(changes: DocChanges) {
  const base = defaultPolicyDocument();
  return parsePolicyDocument({
    ...base,
    ...changes,
    origins: (changes.origins ?? []).map((o) => (typeof o === "string" ? { pattern: o } : o)),
  });
}

function impact(active: PolicyDocument, draft: PolicyDocument, tuples: ReplayTuple[]) {
  return replayImpact(
    compileForReplay(active, { version: 1, tenant: TENANT, now: NOW }),
    compileForReplay(draft, { version: 2, tenant: TENANT, now: NOW }),
    tuples,
    NOW,
  );
}

const t = (origin: string | null, count: number, extra: Partial<ReplayTuple> = {}): ReplayTuple => ({
  origin,
  credentials: false,
  tokenState: "none",
  subprotocols: [],
  count,
  ...extra,
});

describe("replayImpact", () => {
  const active = doc({ origins: [A, B] });

  it.each([
    {
      name: "removing a used origin refuses its traffic",
      draft: doc({ origins: [B] }),
      refused: [{ origin: A, reason: "origin_not_allowed", count: 1204 }],
      allowed: [],
    },
    {
      name: "adding an origin admits what was refused",
      draft: doc({ origins: [A, B, C] }),
      refused: [],
      allowed: [{ origin: C, count: 7 }],
    },
    {
      name: "requiring a token refuses those without a valid one, by reason",
      draft: doc({ origins: [A, B], token: "required" }),
      refused: [
        { origin: A, reason: "token_missing", count: 1204 },
        { origin: B, reason: "token_invalid", count: 3 },
      ],
      allowed: [],
    },
    {
      name: "a token lifetime limit still admits tokens recorded as valid",
      draft: doc({
        origins: [A, B],
        token: "required",
        limits: { ...defaultPolicyDocument().limits, maxTokenLifetimeSeconds: 1 },
      }),
      refused: [
        { origin: A, reason: "token_missing", count: 1204 },
        { origin: B, reason: "token_invalid", count: 3 },
      ],
      allowed: [],
    },
    {
      name: "requiring a subprotocol refuses those that offered none of it",
      draft: doc({ origins: [A, B], subprotocols: ["chat"] }),
      refused: [{ origin: A, reason: "subprotocol_not_allowed", count: 1204 }],
      allowed: [],
    },
    {
      name: "allowing credentials admits the cookie-bearing handshakes",
      draft: doc({ origins: [A, B], credentials: "allow" }),
      refused: [],
      allowed: [{ origin: B, count: 2 }],
    },
    {
      name: "an entry that has expired by now admits nothing",
      draft: doc({ origins: [{ pattern: A, expiresAt: "2026-12-02T11:00:00.000Z" }, B] }),
      refused: [{ origin: A, reason: "origin_not_allowed", count: 1204 }],
      allowed: [],
    },
    {
      name: "report-only refuses nothing",
      draft: doc({ origins: [], mode: "report-only" }),
      refused: [],
      allowed: [
        { origin: C, count: 7 },
        { origin: "https://checkout.acme.com/", count: 4 }, // malformed: shown as sent
        { origin: B, count: 2 },
        { origin: null, count: 1 },
      ],
    },
    { name: "the same document changes nothing", draft: doc({ origins: [B, A] }), refused: [], allowed: [] },
  ])("$name", ({ draft, refused, allowed }) => {
    const tuples = [
      t(A, 1204),
      t(B, 3, { tokenState: "invalid", subprotocols: ["chat"] }),
      t(B, 5, { tokenState: "valid", subprotocols: ["chat", "v2"] }),
      t(B, 2, { credentials: true, subprotocols: ["chat"] }),
      t(C, 7, { subprotocols: ["chat"] }),
      t(null, 1, { subprotocols: ["chat"] }),
      t("https://checkout.acme.com/", 4),
    ];
    const result = impact(active, draft, tuples);
    expect(result.evaluated).toBe(1204 + 3 + 5 + 2 + 7 + 1 + 4);
    expect(result.distinct).toBe(tuples.length);
    expect(result.newlyRefused).toEqual(refused);
    expect(result.newlyAllowed).toEqual(allowed);
  });

  it("canonicalizes origins as the engine does and sums tuples of one origin", () => {
    const result = impact(active, doc({ origins: [B] }), [
      t("HTTPS://CHECKOUT.ACME.COM:443", 2),
      t(A, 3, { subprotocols: ["x"] }),
      t(A, 1, { credentials: true }), // refused before (credentials) and after: not new
    ]);
    expect(result.newlyRefused).toEqual([{ origin: A, reason: "origin_not_allowed", count: 5 }]);
  });

  it('keeps clients without an Origin header apart from the literal Origin "null"', () => {
    const tuples = [t(null, 2), t("null", 3)];
    const result = impact(doc({ origins: [] }), doc({ origins: ["null"], missingOrigin: "allow" }), tuples);
    expect(result.newlyAllowed).toEqual([
      { origin: "null", count: 3 },
      { origin: null, count: 2 },
    ]);
  });

  /** The replay without the per-origin probes: every tuple decided under both versions. */
  function oneByOne(first: PolicyDocument, second: PolicyDocument, tuples: ReplayTuple[]) {
    const before = compileForReplay(first, { version: 1, tenant: TENANT, now: NOW });
    const after = compileForReplay(second, { version: 2, tenant: TENANT, now: NOW });
    const requests = new ReplayRequests(TENANT, NOW);
    const refused = new Map<string, { origin: string | null; reason: string; count: number }>();
    const allowed = new Map<string, { origin: string | null; count: number }>();
    for (const tuple of tuples) {
      const a = decideHandshake(before, requests.request(tuple));
      const b = decideHandshake(after, requests.request(tuple));
      if (a.allowed === b.allowed) continue;
      const origin = b.normalizedOrigin ?? a.normalizedOrigin ?? tuple.origin;
      const key = JSON.stringify(origin); // null (no Origin header) and "null" stay apart
      if (!b.allowed) {
        const e = refused.get(`${key} ${b.reason}`) ?? { origin, reason: b.reason, count: 0 };
        e.count += tuple.count;
        refused.set(`${key} ${b.reason}`, e);
      } else {
        const e = allowed.get(key) ?? { origin, count: 0 };
        e.count += tuple.count;
        allowed.set(key, e);
      }
    }
    const order = (x: { origin: string | null; reason?: string; count: number }, y: typeof x) =>
      y.count - x.count ||
      String(x.origin).localeCompare(String(y.origin)) ||
      (x.origin === null ? 0 : 1) - (y.origin === null ? 0 : 1) ||
      String(x.reason ?? "").localeCompare(String(y.reason ?? ""));
    return {
      evaluated: tuples.reduce((n, t) => n + t.count, 0),
      distinct: tuples.length,
      newlyRefused: [...refused.values()].sort(order),
      newlyAllowed: [...allowed.values()].sort(order),
    };
  }

  it("swapping draft and active swaps what is newly refused and newly allowed", () => {
    const origins = [A, B, C, "https://x.acme.com", "null"];
    const tupleArb = fc.record({
      origin: fc.constantFrom<string | null>(...origins, null, "https://bad/"),
      credentials: fc.boolean(),
      tokenState: fc.constantFrom("none" as const, "valid" as const, "invalid" as const),
      subprotocols: fc.subarray(["chat", "v2"]),
      count: fc.integer({ min: 1, max: 1000 }),
    });
    const docArb = fc.record({
      origins: fc.subarray([A, B, C, "https://*.acme.com", "null"]),
      token: fc.constantFrom("off" as const, "required" as const),
      missingOrigin: fc.constantFrom("reject" as const, "allow" as const),
      mode: fc.constantFrom("enforce" as const, "report-only" as const),
      credentials: fc.constantFrom("forbid" as const, "allow" as const),
      subprotocols: fc.subarray(["chat"]),
    });
    fc.assert(
      fc.property(docArb, docArb, fc.array(tupleArb, { maxLength: 20 }), (one, two, tuples) => {
        const first = doc(one);
        const second = doc(two);
        const forward = impact(first, second, tuples);
        const backward = impact(second, first, tuples);
        const sum = (entries: Array<{ count: number }>) => entries.reduce((total, e) => total + e.count, 0);
        expect(sum(forward.newlyRefused)).toBe(sum(backward.newlyAllowed));
        expect(sum(forward.newlyAllowed)).toBe(sum(backward.newlyRefused));
        expect(forward).toEqual(oneByOne(first, second, tuples));
      }),
      { numRuns: 200 },
    );
  });
});

/** Tuples folded as audit_replay folds them: one group per (origin, subprotocols), six counts. */
function fold(tuples: ReplayTuple[]): ReplayGroup[] {
  const groups = new Map<string, ReplayGroup & { counts: number[] }>();
  for (const tuple of tuples) {
    const key = JSON.stringify([tuple.origin, tuple.subprotocols]);
    let group = groups.get(key);
    if (!group) {
      group = { origin: tuple.origin, subprotocols: tuple.subprotocols, counts: [0, 0, 0, 0, 0, 0] };
      groups.set(key, group);
    }
    const i = replayVariantIndex(tuple.credentials, tuple.tokenState);
    group.counts[i] = (group.counts[i] ?? 0) + tuple.count;
  }
  return [...groups.values()];
}

/** A group as its total and variants mask (what the rollup's totals-first read gives). */
function totalOf(group: ReplayGroup): ReplayGroupTotal {
  let total = 0;
  let variants = 0;
  for (let i = 0; i < 6; i++) {
    const count = group.counts[i] ?? 0;
    total += count;
    if (count > 0) variants |= 1 << i;
  }
  return { origin: group.origin, subprotocols: group.subprotocols, total, variants };
}

/** Tuples with the same facts summed into one (what a scan's GROUP BY gives). */
function distinctTuples(tuples: ReplayTuple[]): ReplayTuple[] {
  const sums = new Map<string, ReplayTuple>();
  for (const tuple of tuples) {
    const key = JSON.stringify([tuple.origin, tuple.credentials, tuple.tokenState, tuple.subprotocols]);
    const seen = sums.get(key);
    sums.set(key, seen ? { ...seen, count: seen.count + tuple.count } : tuple);
  }
  return [...sums.values()];
}

describe("replayGroups", () => {
  const compiled = (first: PolicyDocument, second: PolicyDocument) =>
    [
      compileForReplay(first, { version: 1, tenant: TENANT, now: NOW }),
      compileForReplay(second, { version: 2, tenant: TENANT, now: NOW }),
    ] as const;

  it("decides folded groups exactly as the distinct tuples one by one: no tuple or origin lost or miscounted", () => {
    const tupleArb = fc.record({
      origin: fc.constantFrom<string | null>(A, B, C, "https://x.acme.com", "null", null, "https://bad/", ""),
      credentials: fc.boolean(),
      tokenState: fc.constantFrom("none" as const, "valid" as const, "invalid" as const),
      subprotocols: fc.subarray(["chat", "v2"]),
      count: fc.integer({ min: 1, max: 1000 }),
    });
    const docArb = fc.record({
      origins: fc.subarray([A, B, C, "https://*.acme.com", "null"]),
      token: fc.constantFrom("off" as const, "required" as const),
      missingOrigin: fc.constantFrom("reject" as const, "allow" as const),
      mode: fc.constantFrom("enforce" as const, "report-only" as const),
      credentials: fc.constantFrom("forbid" as const, "allow" as const),
      subprotocols: fc.subarray(["chat"]),
    });
    fc.assert(
      fc.property(docArb, docArb, fc.array(tupleArb, { maxLength: 40 }), (one, two, tuples) => {
        const [first, second] = [doc(one), doc(two)];
        const folded = replayGroups(new ReplayProbes(...compiled(first, second), NOW), fold(tuples));
        expect(folded).toEqual(replayImpact(...compiled(first, second), distinctTuples(tuples), NOW));
        expect(folded.evaluated).toBe(tuples.reduce((n, t) => n + t.count, 0));
        // Origins both versions decide by the origin alone may come as totals: the same answer.
        const probes = new ReplayProbes(...compiled(first, second), NOW);
        const mixed = fold(tuples).map((g): ReplayGroup | ReplayGroupTotal =>
          probes.decidedByOrigin(g.origin) ? totalOf(g) : g,
        );
        expect(replayGroups(probes, mixed)).toEqual(folded);
      }),
      { numRuns: 300 },
    );
  });

  it("counts each positive count of a group as one distinct tuple, and sums a refused origin's groups", () => {
    const active = doc({ origins: [A, B] });
    const groups: ReplayGroup[] = [
      { origin: A, subprotocols: [], counts: [5, 0, 2, 0, 1, 0] }, // the 1 with credentials: refused before too
      { origin: A, subprotocols: ["chat"], counts: [0, 3, 0, 0, 0, 0] },
      { origin: "https://evil.example", subprotocols: [], counts: [7, 7, 7, 7, 7, 7] },
      { origin: B, subprotocols: [], counts: [0, 0, 0, 0, 0, 0] }, // no handshake: not counted
    ];
    const result = replayGroups(new ReplayProbes(...compiled(active, doc({ origins: [B] })), NOW), groups);
    expect(result).toEqual({
      evaluated: 5 + 2 + 1 + 3 + 42,
      distinct: 3 + 1 + 6,
      newlyRefused: [{ origin: A, reason: "origin_not_allowed", count: 5 + 2 + 3 }],
      newlyAllowed: [],
    });
  });
});

describe("replayGroups with totals", () => {
  it("refuses a total for an origin a version admits (its tuples must be decided one by one)", () => {
    const probes = new ReplayProbes(
      compileForReplay(doc({ origins: [A] }), { version: 1, tenant: TENANT, now: NOW }),
      compileForReplay(doc({ origins: [] }), { version: 2, tenant: TENANT, now: NOW }),
      NOW,
    );
    expect(probes.decidedByOrigin(A)).toBe(false);
    expect(probes.decidedByOrigin(C)).toBe(true);
    expect(() => replayGroups(probes, [{ origin: A, subprotocols: [], total: 3, variants: 1 }])).toThrow(/counts/);
    expect(replayGroups(probes, [{ origin: C, subprotocols: [], total: 3, variants: 0b100101 }])).toMatchObject({
      evaluated: 3,
      distinct: 3,
      newlyRefused: [],
      newlyAllowed: [],
    });
  });
});

describe("presentedTokenState", () => {
  const secret = "tenant-secret-for-tests";
  const compiled = (token: "off" | "required", tokenSecret: string | null = secret) =>
    compilePolicy(doc({ origins: [A], token }), NOW, { version: 1, tenant: TENANT, tokenSecret });
  const jwt = (aud = TENANT, exp = NOW / 1000 + 60) => signHandshakeToken({ aud, exp }, secret);
  const request = (offered: string[], accessTokenParam: string[] | null = null) => ({
    origin: A,
    hasCookie: false,
    hasAuthorization: false,
    offeredSubprotocols: offered,
    accessTokenParam,
    now: NOW,
  });

  it.each(["off", "required"] as const)("judges the presented token whatever the policy says (token: %s)", (mode) => {
    expect(presentedTokenState(compiled(mode), request(["chat"]))).toBe("none");
    expect(presentedTokenState(compiled(mode), request(["chat", `bearer.${jwt()}`]))).toBe("valid");
    expect(presentedTokenState(compiled(mode), request([], [jwt()]))).toBe("valid");
    expect(presentedTokenState(compiled(mode), request([`bearer.${jwt("other")}`]))).toBe("invalid");
    expect(presentedTokenState(compiled(mode), request([`bearer.${jwt(TENANT, NOW / 1000 - 600)}`]))).toBe("invalid");
    expect(presentedTokenState(compiled(mode), request([], [jwt(), jwt()]))).toBe("invalid"); // ambiguous
    expect(presentedTokenState(compiled(mode), request(["bearer.x", `bearer.${jwt()}`]))).toBe("invalid");
    expect(presentedTokenState(compiled(mode, null), request([`bearer.${jwt()}`]))).toBe("invalid");
  });
});

describe("stored subprotocol lists", () => {
  it("keep names in client order, never a bearer entry", () => {
    expect(encodeOfferedSubprotocols(["chat", "bearer.abc.def", "v2"])).toBe("chat,v2");
    expect(encodeOfferedSubprotocols(["bearer.abc"])).toBe("");
    expect(decodeOfferedSubprotocols("chat,v2")).toEqual(["chat", "v2"]);
    expect(decodeOfferedSubprotocols("")).toEqual([]);
    expect(decodeOfferedSubprotocols(null)).toEqual([]);
  });
});
