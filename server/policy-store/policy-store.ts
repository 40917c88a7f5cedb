/**
 * The gateway's live copy of every tenant's policy.
 *
 * Lifecycle:
 *  - start(): loads all tenants and compiles them; `ready` is false until that succeeds
 *    (retried with backoff), then LISTENs on `policy_changed` and reconciles every
 *    RECONCILE_INTERVAL_MS. If the first load fails and a snapshot (last-known-good, see
 *    snapshot.ts) can be read, its policies are enforced at once (`ready`, source
 *    "snapshot") while Postgres is retried; the first successful load replaces them.
 *  - A notification (payload: tenant id) is a wake-up to re-read that tenant. Wake-ups are
 *    coalesced: while a tenant is being read, further wake-ups for it mark it dirty and it
 *    is read once more afterwards.
 *  - After every (re)connect of the listener everything is reloaded (notifications sent
 *    while disconnected are lost); reconciliation compares (version, generation) of every
 *    tenant against Postgres so a lost notification cannot leave a gateway stale.
 *  - A policy with expiring entries (or a token secret whose rotation overlap ends) is
 *    recompiled at the expiry (timer), and `get()` recompiles synchronously if it is asked
 *    after the expiry before the timer ran.
 *  - After every change loaded from Postgres the snapshot file is rewritten (coalesced).
 *
 * Reads race (a full reload and a one-tenant reload may overlap, and a query's snapshot is
 * taken some time after it is sent), so results are applied by these rules:
 *  - never install a row older than the one held for that tenant, nor the same one again:
 *    (version, generation) only grows, every write bumps it;
 *  - a full reload drops a tenant missing from its result only if that tenant was installed
 *    before the reload's read began (one installed later comes from a newer read);
 *  - a tenant read as gone is tombstoned until every read that began before that is done,
 *    so a slower, older read cannot bring it back;
 *  - a slug taken by another tenant id (deleted and re-created) is replaced only by a read
 *    that began after the holder was installed.
 * Anything these rules leave behind is caught by the next notification or reconciliation.
 *
 * Events: `reload` (a tenant re-read from Postgres: metrics, logs) and `applied` (the
 * compiled policy enforced for a slug changed, for any reason — load, snapshot, expiry,
 * removal: open connections are re-evaluated on it, SPEC §4.5).
 *
 * Invariants: a compiled policy is replaced by one assignment (atomic for readers); if
 * Postgres is unreachable, the last loaded policies stay in force and `health()` reports
 * `degraded` with their age. A tenant that fails to compile keeps its previous policy. A
 * token secret that cannot be decrypted compiles as "no secret": its tokens are refused.
 */
import { EventEmitter } from "node:events";
import type pg from "pg";
import { type ListenSubscription, PgListener, type Queryable } from "../db/pg-listener";
import { loadAllPolicies, loadPolicy, loadPolicyStamps, type TenantPolicyRow } from "../db/policy-queries";
import type { Logger } from "../log";
import { type CompiledPolicy, compilePolicy } from "../policy";
import type { SecretBox } from "../secrets/secret-box";
import { openTokenSecret } from "../secrets/tenant-token-secret";
import type { PolicySnapshotFile } from "./snapshot";
import { canaryAppliesToGateway, type StagedRuntime } from "./staged-policy";

export const POLICY_CHANNEL = "policy_changed";

/** Where the enforced policies came from: Postgres, or the last-known-good snapshot (SPEC §5). */
export type PolicySource = "postgres" | "snapshot";

export interface TenantRuntime {
  tenantId: string;
  slug: string;
  upstreamUrl: string | null;
  version: number;
  generation: number;
  /** When this version was committed (policy.updated_at). */
  committedAt: Date;
  /** When this gateway started enforcing it. */
  loadedAt: number;
  /**
   * What this gateway enforces by default: the active version, or the staged one when it is
   * a canary whose labels this gateway carries (staged-policy.ts picks per client).
   */
  compiled: CompiledPolicy;
  /** The active version, compiled (the same object as `compiled` unless a labelled canary runs here). */
  active: CompiledPolicy;
  /** The open staged version (shadow/canary), compiled; null when none (the common case). */
  staged: StagedRuntime | null;
  row: TenantPolicyRow;
  /** Read from Postgres, or from the last-known-good snapshot at start. */
  source: PolicySource;
  /** The store's sequence number when it was installed (orders reads and installs). */
  installedSeq: number;
}

export interface PolicyStoreOptions {
  pool: pg.Pool;
  connectionString: string;
  /**
   * The process's shared LISTEN connection (server/db/pg-listener.ts); without one the store
   * opens its own. Policy reads then run on it while it is up (`listener.orElse(pool)`), so
   * they never queue behind audit batches on the pool.
   */
  listener?: PgListener;
  gatewayId: string;
  logger: Logger;
  reconcileIntervalMs: number;
  /** Opens sealed token secrets; null: only plaintext (legacy) secrets can be used. */
  secrets?: SecretBox | null;
  /** Last-known-good file; null: none kept. */
  snapshot?: PolicySnapshotFile | null;
  /** GATEWAY_LABELS of this gateway: a canary carrying one of them is enforced here for everyone. */
  labels?: readonly string[];
  /** Clock, for tests. */
  now?: () => number;
}

export interface PolicyStoreHealth {
  status: "ok" | "degraded" | "starting";
  /** Where the enforced policies come from (SPEC §5). */
  policySource: PolicySource;
  listening: boolean;
  /** Seconds since policies were last confirmed current against Postgres. */
  policyAgeSeconds: number | null;
  /** While enforcing a snapshot: when it was written and its age. */
  snapshot: { writtenAt: string; ageSeconds: number } | null;
  lastError: string | null;
  tenants: number;
}

type Events = {
  /** A tenant's policy was (re)loaded from Postgres or removed; `latencyMs` = time spent reading it. */
  reload: [slug: string, runtime: TenantRuntime | null, latencyMs: number];
  /** The policy enforced for `slug` changed (null: the tenant is gone). */
  applied: [slug: string, runtime: TenantRuntime | null];
};

const MAX_TIMER_MS = 2 ** 31 - 1;
const SNAPSHOT_DEBOUNCE_MS = 100;

/** (version, generation) of `row` is above `held`'s. */
function isNewer(row: { version: number; generation: number }, held: { version: number; generation: number }) {
  return row.version > held.version || (row.version === held.version && row.generation > held.generation);
}

/** The earliest expiry of the active and the staged version (either needs recompiling then). */
function nextExpiryOf(runtime: TenantRuntime): number | null {
  const a = runtime.active.nextExpiryAt ?? null;
  const b = runtime.staged?.compiled.nextExpiryAt ?? null;
  if (a === null) return b;
  return b === null ? a : Math.min(a, b);
}

export class PolicyStore extends EventEmitter<Events> {
  private readonly bySlug = new Map<string, TenantRuntime>();
  private readonly slugById = new Map<string, string>();
  private readonly inFlight = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  private readonly listener: PgListener;
  private readonly subscription: ListenSubscription;
  private resolveListening!: () => void;
  /** Resolves once the policy channel is bound the first time (after start()). */
  private readonly listeningReady = new Promise<void>((resolve) => {
    this.resolveListening = resolve;
  });
  /** Where policy reads run: the LISTEN connection while it is up (shared listener), else the pool. */
  private readonly db: Queryable;
  /** Sequence of reads and installs (see the header's rules). */
  private seq = 0;
  /** Start sequence numbers of the reads in flight. */
  private readonly readsInFlight = new Set<number>();
  /** Tenant ids read as gone, with the sequence number of that removal. */
  private readonly tombstones = new Map<string, number>();
  private reconcileTimer: NodeJS.Timeout | null = null;
  private startRetry: NodeJS.Timeout | null = null;
  private snapshotTimer: NodeJS.Timeout | null = null;
  private snapshotWriting: Promise<void> | null = null;
  private snapshotWrittenAt: Date | null = null;
  private stopped = false;
  private lastSyncAt: number | null = null;
  private lastError: string | null = null;
  private readonly now: () => number;
  ready = false;
  source: PolicySource = "postgres";
  /** Counters for tests and diagnostics: wake-ups received, reconciliations run. */
  readonly stats = { notifications: 0, reconciliations: 0, staleReconciliations: 0, snapshotsWritten: 0 };

  constructor(private readonly options: PolicyStoreOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.listener =
      options.listener ??
      new PgListener({
        connectionString: options.connectionString,
        applicationName: `origingate-policy-listen-${options.gatewayId}`.slice(0, 63),
        logger: options.logger.child({ component: "policy-listener" }),
      });
    this.db = options.listener ? options.listener.orElse(options.pool) : options.pool;
    this.subscription = {
      channels: [POLICY_CHANNEL],
      onNotification: (_channel, tenantId) => {
        this.stats.notifications += 1;
        this.wake(tenantId);
      },
      // Anything may have changed while we were not listening.
      onConnect: () => this.reloadAll().catch((e) => this.failed(e)),
    };
  }

  /** Resolves once every tenant's policy has been loaded from Postgres (retries until it has). */
  async start(): Promise<void> {
    let snapshotTried = false;
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.reloadAll();
        break;
      } catch (error) {
        this.failed(error);
        if (!snapshotTried) {
          snapshotTried = true;
          await this.loadSnapshot();
        }
        await new Promise<void>((r) => {
          this.startRetry = setTimeout(r, Math.min(5000, 200 * 2 ** attempt));
        });
      }
    }
    if (this.stopped) return;
    if (this.source === "snapshot") this.options.logger.info("Postgres is back: enforcing its policies");
    this.source = "postgres";
    this.ready = true;
    void this.listener.subscribe(this.subscription).then(() => this.resolveListening());
    this.reconcileTimer = setInterval(() => void this.reconcile(), this.options.reconcileIntervalMs);
    this.reconcileTimer.unref();
  }

  /** Resolves when the LISTEN connection is bound (tests wait on this). */
  get listening(): Promise<void> {
    return this.listeningReady;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    if (this.startRetry) clearTimeout(this.startRetry);
    if (this.snapshotTimer) clearTimeout(this.snapshotTimer);
    for (const t of this.expiryTimers.values()) clearTimeout(t);
    await this.listener.unsubscribe(this.subscription);
    await this.snapshotWriting;
  }

  /** The tenant's runtime, recompiled first if an entry expired since it was compiled. */
  get(slug: string): TenantRuntime | undefined {
    const runtime = this.bySlug.get(slug);
    const expiry = runtime ? nextExpiryOf(runtime) : null;
    if (runtime && expiry != null && expiry <= this.now()) {
      return this.recompile(runtime);
    }
    return runtime;
  }

  tenants(): IterableIterator<TenantRuntime> {
    return this.bySlug.values();
  }

  /** { slug: version } of everything enforced now (heartbeat row, fleet view). */
  enforcedVersions(): Record<string, number> {
    const versions: Record<string, number> = {};
    for (const [slug, r] of this.bySlug) versions[slug] = r.version;
    return versions;
  }

  /** { slug: { version, stage, percent? } } of the staged versions this gateway applies (fleet view). */
  stagedVersions(): Record<string, { version: number; stage: "shadow" | "canary"; percent?: number }> {
    const staged: Record<string, { version: number; stage: "shadow" | "canary"; percent?: number }> = {};
    for (const [slug, r] of this.bySlug) {
      const s = r.staged;
      if (!s) continue;
      if (s.stage === "shadow" || s.everyone) staged[slug] = { version: s.version, stage: s.stage };
      else if (s.percent > 0) staged[slug] = { version: s.version, stage: s.stage, percent: s.percent };
    }
    return staged;
  }

  health(): PolicyStoreHealth {
    const onSnapshot = this.ready && this.source === "snapshot";
    const degraded = onSnapshot || !this.listener.connected || this.lastError !== null;
    const written = onSnapshot ? this.snapshotWrittenAt : null;
    return {
      status: !this.ready ? "starting" : degraded ? "degraded" : "ok",
      policySource: this.source,
      listening: this.listener.connected,
      policyAgeSeconds: this.lastSyncAt === null ? null : Math.max(0, (this.now() - this.lastSyncAt) / 1000),
      snapshot: written
        ? { writtenAt: written.toISOString(), ageSeconds: Math.max(0, (this.now() - written.getTime()) / 1000) }
        : null,
      lastError: this.lastError,
      tenants: this.bySlug.size,
    };
  }

  /** Seconds since the last confirmation that the enforced policies are current. */
  policyAgeSeconds(): number {
    return this.lastSyncAt === null ? 0 : (this.now() - this.lastSyncAt) / 1000;
  }

  private failed(error: unknown): void {
    this.lastError = error instanceof Error ? error.message : String(error);
    this.options.logger.warn({ err: this.lastError }, "policy sync failed; enforcing last loaded policies");
  }

  private synced(): void {
    this.lastSyncAt = this.now();
    this.lastError = null;
  }

  private beginRead(): number {
    const seq = ++this.seq;
    this.readsInFlight.add(seq);
    return seq;
  }

  /** A read is applied: tombstones no older read can still need are forgotten. */
  private endRead(seq: number): void {
    this.readsInFlight.delete(seq);
    let oldest = Number.POSITIVE_INFINITY;
    for (const s of this.readsInFlight) if (s < oldest) oldest = s;
    for (const [tenantId, removedAt] of this.tombstones) if (removedAt < oldest) this.tombstones.delete(tenantId);
  }

  /** Loads every tenant: installs what is newer, drops tenants gone from the database. */
  async reloadAll(): Promise<void> {
    const readSeq = this.beginRead();
    try {
      const started = performance.now();
      const rows = await loadAllPolicies(this.db);
      const latency = performance.now() - started;
      const seen = new Set<string>();
      for (const row of rows) {
        seen.add(row.tenantId);
        if (this.apply(row, readSeq, "postgres"))
          this.emit("reload", row.slug, this.bySlug.get(row.slug) ?? null, latency);
      }
      for (const runtime of [...this.bySlug.values()]) {
        // Installed after this read began: it comes from a newer read than ours.
        if (seen.has(runtime.tenantId) || runtime.installedSeq > readSeq) continue;
        this.tombstones.set(runtime.tenantId, ++this.seq);
        this.remove(runtime.slug, latency);
      }
      this.synced();
      this.scheduleSnapshot();
    } finally {
      this.endRead(readSeq);
    }
  }

  /** Compares versions with Postgres and re-reads whatever differs. */
  async reconcile(): Promise<void> {
    if (this.stopped) return;
    this.stats.reconciliations += 1;
    try {
      const stamps = await loadPolicyStamps(this.db);
      const known = new Map([...this.bySlug.values()].map((r) => [r.tenantId, r]));
      let stale = stamps.length !== known.size;
      for (const s of stamps) {
        const r = known.get(s.tenantId);
        if (!r || r.version !== s.version || r.generation !== s.generation) {
          stale = true;
          break;
        }
      }
      if (stale) {
        this.stats.staleReconciliations += 1;
        this.options.logger.info("reconciliation found a stale policy; reloading");
        await this.reloadAll();
      } else {
        this.synced();
      }
    } catch (error) {
      this.failed(error);
    }
  }

  /** A notification for one tenant: re-read it, coalescing bursts. */
  private wake(tenantId: string): void {
    if (this.inFlight.has(tenantId)) {
      this.dirty.add(tenantId);
      return;
    }
    void this.reloadOne(tenantId);
  }

  private async reloadOne(tenantId: string): Promise<void> {
    this.inFlight.add(tenantId);
    try {
      do {
        this.dirty.delete(tenantId);
        const readSeq = this.beginRead();
        try {
          const started = performance.now();
          const row = await loadPolicy(this.db, tenantId);
          const latency = performance.now() - started;
          if (!row) {
            // Tenant ids are never reused: gone is gone, whatever an older read says later.
            this.tombstones.set(tenantId, ++this.seq);
            const slug = this.slugById.get(tenantId);
            if (slug) this.remove(slug, latency);
          } else if (this.apply(row, readSeq, "postgres")) {
            this.emit("reload", row.slug, this.bySlug.get(row.slug) ?? null, latency);
          }
          this.scheduleSnapshot();
        } finally {
          this.endRead(readSeq);
        }
      } while (this.dirty.has(tenantId) && !this.stopped);
    } catch (error) {
      // Reconciliation (or the listener's reconnect) will pick it up.
      this.failed(error);
    } finally {
      this.inFlight.delete(tenantId);
    }
  }

  /** Installs `row` if the rules of the header allow it; true when it did. */
  private apply(row: TenantPolicyRow, readSeq: number, source: PolicySource): boolean {
    if (this.tombstones.has(row.tenantId)) return false;
    const heldSlug = this.slugById.get(row.tenantId);
    const held = heldSlug === undefined ? undefined : this.bySlug.get(heldSlug);
    // A snapshot's policies give way to anything read from Postgres; the very same version
    // is only marked as confirmed (nothing to recompile, no open connection to judge again).
    if (held?.source === "snapshot" && heldSlug === row.slug && !isNewer(row, held) && !isNewer(held, row)) {
      held.source = source;
      held.row = row;
      held.installedSeq = ++this.seq;
      return false;
    }
    if (held && held.source === "postgres" && !isNewer(row, held)) return false;
    const occupant = this.bySlug.get(row.slug);
    if (occupant && occupant.tenantId !== row.tenantId && occupant.source === "postgres") {
      if (occupant.installedSeq > readSeq) return false;
    }
    if (held && heldSlug !== row.slug) this.remove(heldSlug!, 0); // renamed
    if (occupant && occupant.tenantId !== row.tenantId) this.remove(row.slug, 0);
    this.install(row, source);
    return true;
  }

  private install(row: TenantPolicyRow, source: PolicySource): TenantRuntime {
    const runtime: TenantRuntime = {
      tenantId: row.tenantId,
      slug: row.slug,
      upstreamUrl: row.upstreamUrl,
      version: row.version,
      generation: row.generation,
      committedAt: row.updatedAt,
      loadedAt: this.now(),
      ...this.compileAll(row),
      row,
      source,
      installedSeq: ++this.seq,
    };
    this.put(runtime);
    return runtime;
  }

  /** The same row compiled again (an entry expired, a rotation overlap ended). */
  private recompile(runtime: TenantRuntime): TenantRuntime {
    const next: TenantRuntime = { ...runtime, ...this.compileAll(runtime.row) };
    this.put(next);
    return next;
  }

  /** The active version and the staged one (if any), and what this gateway enforces by default. */
  private compileAll(row: TenantPolicyRow): Pick<TenantRuntime, "compiled" | "active" | "staged"> {
    const active = this.compile(row);
    const s = row.staged;
    if (!s) return { compiled: active, active, staged: null };
    const compiled = this.compile({ ...row, version: s.version, document: s.document, invalid: null });
    const everyone = s.stage === "canary" && canaryAppliesToGateway(s.canaryLabels, this.options.labels ?? []);
    const staged: StagedRuntime = {
      rolloutId: s.rolloutId,
      version: s.version,
      stage: s.stage,
      compiled,
      everyone,
      percent: s.stage === "canary" ? (s.canaryPercent ?? 0) : 0,
      guardMaxNewRefusalsPerMinute: s.guardMaxNewRefusalsPerMinute,
    };
    return { compiled: everyone ? compiled : active, active, staged };
  }

  private put(runtime: TenantRuntime): void {
    this.bySlug.set(runtime.slug, runtime);
    this.slugById.set(runtime.tenantId, runtime.slug);
    this.scheduleExpiry(runtime);
    this.emit("applied", runtime.slug, runtime);
  }

  private compile(row: TenantPolicyRow): CompiledPolicy {
    if (row.invalid) {
      this.options.logger.error(
        { tenant: row.slug, version: row.version, err: row.invalid },
        "stored policy does not fit the schema; refusing every browser for this tenant until it is saved again",
      );
    }
    return compilePolicy(row.document, this.now(), {
      version: row.version,
      tenant: row.slug,
      tokenSecret: this.openSecret(row, row.tokenSecret),
      previousTokenSecret: row.previousTokenSecret === null ? null : this.openSecret(row, row.previousTokenSecret),
      previousTokenSecretUntil: row.previousTokenSecretUntil?.getTime() ?? null,
    });
  }

  /** A stored token secret in the clear; null (tokens refused) when it cannot be opened. */
  private openSecret(row: TenantPolicyRow, stored: string): string | null {
    try {
      return openTokenSecret(this.options.secrets ?? null, row.tenantId, stored);
    } catch (error) {
      this.options.logger.error(
        { tenant: row.slug, err: (error as Error).message },
        "token secret cannot be decrypted: this tenant's tokens are refused",
      );
      return null;
    }
  }

  private remove(slug: string, latencyMs: number): void {
    const runtime = this.bySlug.get(slug);
    if (!runtime) return;
    this.bySlug.delete(slug);
    if (this.slugById.get(runtime.tenantId) === slug) this.slugById.delete(runtime.tenantId);
    const timer = this.expiryTimers.get(slug);
    if (timer) clearTimeout(timer);
    this.expiryTimers.delete(slug);
    this.emit("reload", slug, null, latencyMs);
    this.emit("applied", slug, null);
  }

  private scheduleExpiry(runtime: TenantRuntime): void {
    const previous = this.expiryTimers.get(runtime.slug);
    if (previous) clearTimeout(previous);
    this.expiryTimers.delete(runtime.slug);
    const at = nextExpiryOf(runtime);
    if (at == null) return;
    const timer = setTimeout(
      () => {
        // get() recompiles (and reschedules) once the expiry has passed; a timer clamped to
        // the 24.8-day maximum just reschedules.
        const current = this.bySlug.get(runtime.slug);
        if (current && this.get(runtime.slug) === current) this.scheduleExpiry(current);
      },
      Math.min(MAX_TIMER_MS, Math.max(0, at - this.now())),
    );
    timer.unref();
    this.expiryTimers.set(runtime.slug, timer);
  }

  /** Start only: enforces the snapshot if there is a trustworthy one. */
  private async loadSnapshot(): Promise<void> {
    const file = this.options.snapshot;
    if (!file || this.ready) return;
    let snapshot: Awaited<ReturnType<PolicySnapshotFile["read"]>>;
    try {
      snapshot = await file.read();
    } catch (error) {
      this.options.logger.error({ err: (error as Error).message }, "policy snapshot ignored");
      return;
    }
    if (!snapshot) {
      this.options.logger.warn({ file: file.file }, "Postgres unreachable and no policy snapshot: not ready");
      return;
    }
    // Postgres may have answered meanwhile (stop() or a concurrent load).
    if (this.ready || this.stopped) return;
    for (const row of snapshot.tenants) this.apply(row, 0, "snapshot");
    this.source = "snapshot";
    this.snapshotWrittenAt = snapshot.writtenAt;
    this.lastSyncAt = snapshot.writtenAt.getTime();
    this.ready = true;
    this.options.logger.warn(
      { tenants: snapshot.tenants.length, writtenAt: snapshot.writtenAt.toISOString(), by: snapshot.gatewayId },
      "Postgres unreachable: enforcing the last-known-good policy snapshot",
    );
  }

  /** Rewrites the snapshot soon (coalesced), once everything enforced comes from Postgres. */
  private scheduleSnapshot(): void {
    if (!this.options.snapshot || this.snapshotTimer || this.stopped) return;
    this.snapshotTimer = setTimeout(() => {
      this.snapshotTimer = null;
      if (this.snapshotWriting) {
        // One write at a time; this one's content is picked when the previous is done.
        void this.snapshotWriting.then(() => this.scheduleSnapshot());
        return;
      }
      this.snapshotWriting = this.writeSnapshot().finally(() => {
        this.snapshotWriting = null;
      });
    }, SNAPSHOT_DEBOUNCE_MS);
    this.snapshotTimer.unref();
  }

  private async writeSnapshot(): Promise<void> {
    const file = this.options.snapshot;
    if (!file || this.source !== "postgres" || this.lastSyncAt === null) return;
    const tenants = [...this.bySlug.values()].filter((r) => r.source === "postgres").map((r) => r.row);
    try {
      await file.write({ gatewayId: this.options.gatewayId, writtenAt: new Date(this.lastSyncAt), tenants });
      this.stats.snapshotsWritten += 1;
    } catch (error) {
      this.options.logger.error({ err: (error as Error).message, file: file.file }, "policy snapshot not written");
    }
  }
}
