/**
 * Impact preview (SPEC §5.2): the recorded handshakes of a window, as distinct tuples
 * (origin as sent, credentials present, token state, offered subprotocols, with counts), are
 * decided by `decideHandshake` — the gateway's own decision — under a draft and under the
 * active version, and the differences are what the draft would newly refuse and newly admit.
 *
 * The token cannot be replayed (the audit trail never keeps it), only its recorded state.
 * Both versions are therefore compiled with one synthetic replay secret, and a tuple whose
 * token was `valid` presents a token freshly signed with that secret for the tenant (issued
 * now, living one second, so any `maxTokenLifetimeSeconds` admits it); `invalid` presents one
 * that no secret verifies; `none` presents nothing. So the token check runs exactly as at the
 * gateway, on the state the gateway recorded. What replay cannot know: a draft that lowers
 * `maxTokenLifetimeSeconds` below the lifetime of tokens that were valid (their lifetime is
 * not recorded), and limits (rates, connection caps), which are not part of a decision.
 *
 * "Refused" is what a client experiences: `allowed: false` (so nothing is refused in
 * report-only mode, except an internal fault). Entries are judged at `now`, the instant the
 * draft would take effect: an entry that has expired no longer admits anything.
 *
 * Pure (time comes in as a parameter); the signing uses node:crypto, so server code only.
 */
import { type CompiledPolicy, compilePolicy } from "./compile-policy";
import { type Decision, decideHandshake, type HandshakeRequest, type TokenState } from "./decide-handshake";
import type { CompilableDocument } from "./document";
import type { Reason } from "./reasons";
import { signHandshakeToken } from "./token";

/** One distinct recorded handshake and how many times it was seen. */
export interface ReplayTuple {
  /** The Origin header as sent (several lines comma-joined, as recorded); null when absent. */
  origin: string | null;
  /** A Cookie or Authorization header came. */
  credentials: boolean;
  tokenState: TokenState;
  /** Offered subprotocols other than `bearer.*`, in client order. */
  subprotocols: readonly string[];
  count: number;
}

export interface ImpactEntry {
  /** The origin as the engine canonicalizes it (as sent when malformed); null: no Origin header. */
  origin: string | null;
  count: number;
}

export interface ImpactResult {
  /** Handshakes replayed (the sum of the tuples' counts). */
  evaluated: number;
  /** Distinct tuples replayed. */
  distinct: number;
  /** Admitted by the active version, refused by the draft: by origin and the draft's reason. */
  newlyRefused: Array<ImpactEntry & { reason: Reason }>;
  /** Refused by the active version, admitted by the draft: by origin. */
  newlyAllowed: ImpactEntry[];
}

/**
 * The synthetic secret both sides of a replay are compiled with (never a tenant's secret:
 * token validity comes from the recorded state, see the module header).
 */
const REPLAY_TOKEN_SECRET = "origingate-impact-replay-only";

/** A version compiled for replay: the document as the gateway would compile it, with the replay secret. */
export function compileForReplay(
  document: CompilableDocument,
  options: { version: number; tenant: string; now: number },
): CompiledPolicy {
  return compilePolicy(document, options.now, {
    version: options.version,
    tenant: options.tenant,
    tokenSecret: REPLAY_TOKEN_SECRET,
  });
}

/** Builds the handshake requests of tuples for one tenant at one instant (one signed token for all). */
export class ReplayRequests {
  private readonly validEntry: string;

  constructor(
    tenant: string,
    private readonly now: number,
  ) {
    const seconds = Math.floor(now / 1000);
    this.validEntry = `bearer.${signHandshakeToken({ aud: tenant, iat: seconds, exp: seconds + 1 }, REPLAY_TOKEN_SECRET)}`;
  }

  request(tuple: ReplayTuple): HandshakeRequest {
    const offered = [...tuple.subprotocols];
    if (tuple.tokenState === "valid") offered.push(this.validEntry);
    else if (tuple.tokenState === "invalid") offered.push("bearer.not-a-valid-token");
    return {
      origin: tuple.origin ?? undefined,
      hasCookie: tuple.credentials,
      hasAuthorization: false,
      offeredSubprotocols: offered,
      accessTokenParam: null,
      now: this.now,
    };
  }
}

/** Reasons of the origin check, the first check of decideHandshake: later checks never run after one. */
const ORIGIN_REASONS: ReadonlySet<Reason> = new Set<Reason>([
  "origin_malformed",
  "origin_missing",
  "origin_null",
  "origin_not_allowed",
]);

interface Outcome {
  allowed: boolean;
  reason: Reason;
  normalizedOrigin: string | null;
}

/**
 * The handshakes of one origin with one list of offered subprotocols, counted by the two
 * remaining facts: `counts[replayVariantIndex(credentials, tokenState)]`. This is the shape of
 * the audit_replay rollup (a row per tenant, day, origin and subprotocols): each positive
 * count is one distinct tuple.
 */
export interface ReplayGroup {
  /** As in ReplayTuple: the Origin header as sent, null when absent. */
  origin: string | null;
  subprotocols: readonly string[];
  /** Six counts: no credentials with token none/valid/invalid, then credentials with the same. */
  counts: ArrayLike<number>;
}

/**
 * A group read without its six counts: only their sum and which of them are positive (bit i
 * for counts[i]). Enough for an origin both versions decide by the origin alone
 * (ReplayProbes.decidedByOrigin); replayGroups refuses it for any other origin.
 */
export interface ReplayGroupTotal {
  origin: string | null;
  subprotocols: readonly string[];
  total: number;
  variants: number;
}

/** Where a tuple's count goes in ReplayGroup.counts (and its bit in ReplayGroupTotal.variants). */
export function replayVariantIndex(credentials: boolean, tokenState: TokenState): number {
  return (credentials ? 3 : 0) + (tokenState === "none" ? 0 : tokenState === "valid" ? 1 : 2);
}

const VARIANTS: ReadonlyArray<{ credentials: boolean; tokenState: TokenState }> = [false, true].flatMap((credentials) =>
  (["none", "valid", "invalid"] as const).map((tokenState) => ({ credentials, tokenState })),
);

interface Probe {
  before: Outcome | null;
  after: Outcome | null;
}

/**
 * One probe per distinct origin and version (the origin alone: no credentials, token or
 * subprotocols). The origin is decideHandshake's first check, and once it fails no later check
 * runs (decide-handshake.ts): so when both versions' probes fail at the origin check, those
 * verdicts hold for every handshake of the origin, whatever its other facts, and only the
 * number of its handshakes matters.
 */
export class ReplayProbes {
  readonly requests: ReplayRequests;
  private readonly probes = new Map<string | null, Probe>();

  constructor(
    readonly active: CompiledPolicy,
    readonly draft: CompiledPolicy,
    readonly now: number,
  ) {
    this.requests = new ReplayRequests(draft.tenant, now);
  }

  probe(origin: string | null): Probe {
    let probe = this.probes.get(origin);
    if (!probe) {
      const bare = this.requests.request({
        origin,
        credentials: false,
        tokenState: "none",
        subprotocols: [],
        count: 1,
      });
      probe = {
        before: originVerdict(decideHandshake(this.active, bare)),
        after: originVerdict(decideHandshake(this.draft, bare)),
      };
      this.probes.set(origin, probe);
    }
    return probe;
  }

  /** True when both versions decide every handshake of `origin` by the origin alone. */
  decidedByOrigin(origin: string | null): boolean {
    const probe = this.probe(origin);
    return probe.before !== null && probe.after !== null;
  }
}

/**
 * Decides every tuple under `active` and `draft` (both from compileForReplay) and sums the
 * differences. Each tuple is its own distinct tuple (a tuple without a positive count is not
 * a handshake: not replayed, not counted).
 */
export function replayImpact(
  active: CompiledPolicy,
  draft: CompiledPolicy,
  tuples: Iterable<ReplayTuple>,
  now: number,
): ImpactResult {
  const groups = (function* () {
    for (const tuple of tuples) {
      const counts = [0, 0, 0, 0, 0, 0];
      counts[replayVariantIndex(tuple.credentials, tuple.tokenState)] = tuple.count;
      yield { origin: tuple.origin, subprotocols: tuple.subprotocols, counts };
    }
  })();
  return replayGroups(new ReplayProbes(active, draft, now), groups);
}

/**
 * replayImpact over folded groups (the rollup's rows; several groups may share an origin),
 * with the probes of `probes` (ReplayProbes: the two versions and the instant).
 *
 * Cost: two decisions per distinct origin; only origins that some version admits past the
 * origin check have their tuples decided one by one. A long tail of refused origins therefore
 * costs two decisions per origin, not per tuple — and such an origin's groups may come as
 * totals (ReplayGroupTotal), without their six counts.
 */
export function replayGroups(probes: ReplayProbes, groups: Iterable<ReplayGroup | ReplayGroupTotal>): ImpactResult {
  const { active, draft, requests } = probes;
  const refused = new Map<string, ImpactEntry & { reason: Reason }>();
  const allowed = new Map<string, ImpactEntry>();
  let evaluated = 0;
  let distinct = 0;
  const add = (before: Outcome, after: Outcome, sentOrigin: string | null, count: number) => {
    const origin = after.normalizedOrigin ?? before.normalizedOrigin ?? sentOrigin;
    // No Origin header (null) and the literal Origin "null" are two entries.
    const originKey = origin === null ? "\u0001missing" : origin;
    if (!after.allowed) {
      const entryKey = `${originKey}\u0000${after.reason}`;
      const entry = refused.get(entryKey) ?? { origin, reason: after.reason, count: 0 };
      entry.count += count;
      refused.set(entryKey, entry);
    } else {
      const entry = allowed.get(originKey) ?? { origin, count: 0 };
      entry.count += count;
      allowed.set(originKey, entry);
    }
  };
  for (const group of groups) {
    const probe = probes.probe(group.origin);
    if (!("counts" in group)) {
      if (!(probe.before && probe.after)) {
        throw new Error("replayGroups: an origin a version admits needs its tuples' counts, not a total");
      }
      const total = Number.isFinite(group.total) && group.total > 0 ? group.total : 0;
      if (total === 0) continue;
      evaluated += total;
      distinct += popcount(group.variants & 0b111111);
      if (probe.before.allowed !== probe.after.allowed) add(probe.before, probe.after, group.origin, total);
      continue;
    }
    let total = 0;
    for (let i = 0; i < VARIANTS.length; i++) {
      const count = group.counts[i] ?? 0;
      if (!(Number.isFinite(count) && count > 0)) continue;
      total += count;
      distinct++;
    }
    if (total === 0) continue;
    evaluated += total;
    if (probe.before && probe.after) {
      // Decided by the origin alone under both versions: the same for every tuple of the group.
      if (probe.before.allowed !== probe.after.allowed) add(probe.before, probe.after, group.origin, total);
      continue;
    }
    for (let i = 0; i < VARIANTS.length; i++) {
      const count = group.counts[i] ?? 0;
      if (!(Number.isFinite(count) && count > 0)) continue;
      const variant = VARIANTS[i] as (typeof VARIANTS)[number];
      const request = requests.request({ origin: group.origin, subprotocols: group.subprotocols, count, ...variant });
      const before = probe.before ?? decideHandshake(active, request);
      const after = probe.after ?? decideHandshake(draft, request);
      if (before.allowed !== after.allowed) add(before, after, group.origin, count);
    }
  }
  return {
    evaluated,
    distinct,
    newlyRefused: [...refused.values()].sort(byCountThenOrigin),
    newlyAllowed: [...allowed.values()].sort(byCountThenOrigin),
  };
}

function popcount(bits: number): number {
  let n = 0;
  for (let b = bits; b !== 0; b &= b - 1) n++;
  return n;
}

/** The probe's outcome when the origin check decided it (valid for every tuple of that origin), else null. */
function originVerdict(decision: Decision): Outcome | null {
  const failed = decision.allowed ? decision.wouldReject : decision.reason;
  return failed !== undefined && ORIGIN_REASONS.has(failed) ? decision : null;
}

/** Largest first; then by origin (no Origin header before the literal "null") and reason: always one order. */
function byCountThenOrigin(a: ImpactEntry & { reason?: string }, b: ImpactEntry & { reason?: string }): number {
  return (
    b.count - a.count ||
    String(a.origin).localeCompare(String(b.origin)) ||
    (a.origin === null ? 0 : 1) - (b.origin === null ? 0 : 1) ||
    String(a.reason ?? "").localeCompare(String(b.reason ?? ""))
  );
}

/** The offered subprotocols as the audit row stores them: non-bearer names, comma-joined (none: ''). */
export function encodeOfferedSubprotocols(offered: readonly string[]): string {
  let out = "";
  for (const name of offered) {
    if (typeof name !== "string" || name.startsWith("bearer.")) continue;
    out = out === "" ? name : `${out},${name}`;
  }
  return out;
}

/** The stored form back as a list ('' → none). Subprotocol names are HTTP tokens: they hold no comma. */
export function decodeOfferedSubprotocols(stored: string | null): string[] {
  return stored ? stored.split(",").filter((name) => name !== "") : [];
}
