/**
 * The gateway's live copy of every tenant's policy.
 *
 * Lifecycle:
 *  - start(): loads all tenants and compiles them; `ready` is false until that succeeds
 *    (retried with backoff), then LISTENs on `policy_changed` and reconciles every
 *    RECONCILE_INTERVAL_MS.
 *  - A notification (payload: tenant id) is a wake-up to re-read that tenant. Wake-ups are
 *    coalesced: while a tenant is being read, further wake-ups for it mark it dirty and it
 *    is read once more afterwards.
 *  - After every (re)connect of the listener everything is reloaded (notifications sent
 *    while disconnected are lost); reconciliation compares (version, generation) of every
 *    tenant against Postgres so a lost notification cannot leave a gateway stale.
 *  - A policy with expiring entries is recompiled at the expiry (timer), and `get()`
 *    recompiles synchronously if it is asked after the expiry before the timer ran.
 *
 * Invariants: a compiled policy is replaced by one assignment (atomic for readers); if
 * Postgres is unreachable, the last loaded policies stay in force and `health()` reports
 * `degraded` with their age. A tenant that fails to compile keeps its previous policy.
 */
import { EventEmitter } from "node:events";
import type pg from "pg";
import { PgListener } from "../db/pg-listener";
import { loadAllPolicies, loadPolicy, loadPolicyStamps, type TenantPolicyRow } from "../db/policy-queries";
import type { Logger } from "../log";
import { type CompiledPolicy, compilePolicy } from "../policy";

export const POLICY_CHANNEL = "policy_changed";

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
  compiled: CompiledPolicy;
  row: TenantPolicyRow;
}

export interface PolicyStoreOptions {
  pool: pg.Pool;
  connectionString: string;
  gatewayId: string;
  logger: Logger;
  reconcileIntervalMs: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** Where the enforced policies came from: Postgres, or the last-known-good snapshot (SPEC §5). */
export type PolicySource = "postgres" | "snapshot";

export interface PolicyStoreHealth {
  status: "ok" | "degraded" | "starting";
  source: PolicySource;
  listening: boolean;
  /** Seconds since policies were last confirmed current against Postgres. */
  policyAgeSeconds: number | null;
  lastError: string | null;
  tenants: number;
}

type Events = {
  /** A tenant's policy was (re)loaded or removed; `latencyMs` = time spent reading it. */
  reload: [slug: string, runtime: TenantRuntime | null, latencyMs: number];
};

const MAX_TIMER_MS = 2 ** 31 - 1;

export class PolicyStore extends EventEmitter<Events> {
  private readonly bySlug = new Map<string, TenantRuntime>();
  private readonly slugById = new Map<string, string>();
  private readonly inFlight = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  private readonly listener: PgListener;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private startRetry: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastSyncAt: number | null = null;
  private lastError: string | null = null;
  private readonly now: () => number;
  ready = false;

  constructor(private readonly options: PolicyStoreOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.listener = new PgListener({
      connectionString: options.connectionString,
      channels: [POLICY_CHANNEL],
      applicationName: `origingate-policy-listen-${options.gatewayId}`.slice(0, 63),
      logger: options.logger.child({ component: "policy-listener" }),
      onNotification: (_channel, tenantId) => this.wake(tenantId),
      // Anything may have changed while we were not listening.
      onConnect: () => this.reloadAll().catch((e) => this.failed(e)),
    });
  }

  /** Resolves once every tenant's policy has been loaded (retries until it has). */
  async start(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.reloadAll();
        break;
      } catch (error) {
        this.failed(error);
        await new Promise<void>((r) => {
          this.startRetry = setTimeout(r, Math.min(5000, 200 * 2 ** attempt));
        });
      }
    }
    if (this.stopped) return;
    this.ready = true;
    this.listener.start();
    this.reconcileTimer = setInterval(() => void this.reconcile(), this.options.reconcileIntervalMs);
    this.reconcileTimer.unref();
  }

  /** Resolves when the LISTEN connection is bound (tests wait on this). */
  get listening(): Promise<void> {
    return this.listener.ready;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    if (this.startRetry) clearTimeout(this.startRetry);
    for (const t of this.expiryTimers.values()) clearTimeout(t);
    await this.listener.stop();
  }

  /** The tenant's runtime, recompiled first if an entry expired since it was compiled. */
  get(slug: string): TenantRuntime | undefined {
    const runtime = this.bySlug.get(slug);
    if (runtime?.compiled.nextExpiryAt != null && runtime.compiled.nextExpiryAt <= this.now()) {
      return this.install(runtime.row, runtime.loadedAt);
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

  /** Where the enforced policies came from (only Postgres until snapshots are loaded at start). */
  get source(): PolicySource {
    return "postgres";
  }

  health(): PolicyStoreHealth {
    const degraded = !this.listener.connected || this.lastError !== null;
    return {
      status: !this.ready ? "starting" : degraded ? "degraded" : "ok",
      source: this.source,
      listening: this.listener.connected,
      policyAgeSeconds: this.lastSyncAt === null ? null : Math.max(0, (this.now() - this.lastSyncAt) / 1000),
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

  /** Loads every tenant, replacing the whole set (tenants gone from the database are dropped). */
  async reloadAll(): Promise<void> {
    const started = performance.now();
    const rows = await loadAllPolicies(this.options.pool);
    const latency = performance.now() - started;
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.slug);
      const current = this.bySlug.get(row.slug);
      if (current && current.version === row.version && current.generation === row.generation) continue;
      this.install(row);
      this.emit("reload", row.slug, this.bySlug.get(row.slug) ?? null, latency);
    }
    for (const slug of [...this.bySlug.keys()]) if (!seen.has(slug)) this.remove(slug, latency);
    this.synced();
  }

  /** Compares versions with Postgres and re-reads whatever differs. */
  async reconcile(): Promise<void> {
    if (this.stopped) return;
    try {
      const stamps = await loadPolicyStamps(this.options.pool);
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
        const started = performance.now();
        const row = await loadPolicy(this.options.pool, tenantId);
        const latency = performance.now() - started;
        const previousSlug = this.slugById.get(tenantId);
        if (!row) {
          if (previousSlug) this.remove(previousSlug, latency);
        } else {
          if (previousSlug && previousSlug !== row.slug) this.remove(previousSlug, latency);
          this.install(row);
          this.emit("reload", row.slug, this.bySlug.get(row.slug) ?? null, latency);
        }
      } while (this.dirty.has(tenantId) && !this.stopped);
    } catch (error) {
      // Reconciliation (or the listener's reconnect) will pick it up.
      this.failed(error);
    } finally {
      this.inFlight.delete(tenantId);
    }
  }

  private install(row: TenantPolicyRow, loadedAt = this.now()): TenantRuntime {
    const now = this.now();
    if (row.invalid) {
      this.options.logger.error(
        { tenant: row.slug, version: row.version, err: row.invalid },
        "stored policy does not fit the schema; refusing every browser for this tenant until it is saved again",
      );
    }
    const compiled = compilePolicy(row.document, now, {
      version: row.version,
      tenant: row.slug,
      tokenSecret: row.tokenSecret,
    });
    const runtime: TenantRuntime = {
      tenantId: row.tenantId,
      slug: row.slug,
      upstreamUrl: row.upstreamUrl,
      version: row.version,
      generation: row.generation,
      committedAt: row.updatedAt,
      loadedAt,
      compiled,
      row,
    };
    this.bySlug.set(row.slug, runtime);
    this.slugById.set(row.tenantId, row.slug);
    this.scheduleExpiry(runtime);
    return runtime;
  }

  private remove(slug: string, latencyMs: number): void {
    const runtime = this.bySlug.get(slug);
    if (!runtime) return;
    this.bySlug.delete(slug);
    this.slugById.delete(runtime.tenantId);
    const timer = this.expiryTimers.get(slug);
    if (timer) clearTimeout(timer);
    this.expiryTimers.delete(slug);
    this.emit("reload", slug, null, latencyMs);
  }

  private scheduleExpiry(runtime: TenantRuntime): void {
    const previous = this.expiryTimers.get(runtime.slug);
    if (previous) clearTimeout(previous);
    this.expiryTimers.delete(runtime.slug);
    const at = runtime.compiled.nextExpiryAt;
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
}
