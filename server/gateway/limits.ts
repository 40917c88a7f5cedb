/**
 * Handshake rates per client address (SPEC §4.3 limits, §5 "Untrusted input is bounded"),
 * with memory bounded whatever clients send.
 *
 * Two budgets, both fixed windows of WINDOW_MS:
 *   - unverified: handshakes that named no tenant (an unknown slug) or were not valid
 *     handshakes at all, per client address, `UNKNOWN_TENANT_RATE_PER_MIN` (default 600).
 *     It is consulted *before* the tenant lookup: an address that spent it is refused with
 *     429 whatever slug it asks for next, so past the budget the answer no longer depends
 *     on whether a tenant exists (no enumeration oracle), and a flood of made-up slugs
 *     costs one counter per address, never anything per slug.
 *   - per tenant: `limits.handshakesPerMinutePerIp` of each known tenant, per address, and
 *     `limits.requestsPerMinutePerIp` for its HTTP/SSE requests (proxied or forward-auth;
 *     a separate scope of the same counters). Only loaded tenants get scopes, and forget()
 *     drops a deleted tenant's.
 *
 * Bounds: each budget holds at most `maxKeys` address counters in all (unknown slugs never
 * create one). When a new address would exceed that, the budget starts a new window early
 * (all its counters cleared) rather than refusing new addresses: an attacker who sprays
 * addresses (a botnet, an IPv6 prefix) cannot make the gateway refuse everyone else, and
 * each address still gets at most its budget per window. The key counts are exported as
 * metrics (`origingate_rate_limiter_keys`) next to the bound.
 *
 * Synchronous and in memory: each gateway counts on its own, so a fleet of N gateways
 * admits up to N times a budget per address in the worst case (the usual trade-off of a
 * stateless fleet).
 */

export const WINDOW_MS = 60_000;
export const DEFAULT_UNKNOWN_TENANT_RATE_PER_MIN = 600;
export const DEFAULT_MAX_LIMITER_KEYS = 100_000;

interface Window {
  startedAt: number;
  counts: Map<string, number>;
}

/** Fixed-window counters per (scope, key), at most `maxKeys` keys over all scopes. */
export class WindowCounters {
  private readonly scopes = new Map<string, Window>();
  private keyCount = 0;

  constructor(
    readonly maxKeys: number,
    private readonly now: () => number,
    private readonly windowMs = WINDOW_MS,
  ) {}

  /** Counters held now (over all scopes). */
  get size(): number {
    return this.keyCount;
  }

  /** Scopes held now. */
  get scopeCount(): number {
    return this.scopes.size;
  }

  /** The count of `key` in `scope`'s current window (0 when none). */
  peek(scope: string, key: string): number {
    const window = this.current(scope, false);
    return window?.counts.get(key) ?? 0;
  }

  /** Counts one for `key` if it is under `limit`; false (and nothing counted) when it is not. */
  take(scope: string, key: string, limit: number): boolean {
    let window = this.current(scope, true)!;
    let n = window.counts.get(key);
    if (n === undefined) {
      if (this.keyCount >= this.maxKeys) {
        this.clear();
        window = this.current(scope, true)!;
      }
      n = 0;
      this.keyCount += 1;
    }
    if (n >= limit) return false;
    window.counts.set(key, n + 1);
    return true;
  }

  /** Seconds until `scope`'s window ends (at least 1): the Retry-After of a refusal. */
  retryAfterSeconds(scope: string): number {
    const window = this.scopes.get(scope);
    if (!window) return 1;
    return Math.max(1, Math.ceil((window.startedAt + this.windowMs - this.now()) / 1000));
  }

  forget(scope: string): void {
    const window = this.scopes.get(scope);
    if (!window) return;
    this.keyCount -= window.counts.size;
    this.scopes.delete(scope);
  }

  private clear(): void {
    this.scopes.clear();
    this.keyCount = 0;
  }

  /** The scope's window, renewed when it has ended; created only when `create`. */
  private current(scope: string, create: boolean): Window | undefined {
    const now = this.now();
    const window = this.scopes.get(scope);
    if (window && now - window.startedAt < this.windowMs) return window;
    if (window) this.forget(scope);
    if (!create) return undefined;
    const fresh: Window = { startedAt: now, counts: new Map() };
    this.scopes.set(scope, fresh);
    return fresh;
  }
}

export interface RateLimitOptions {
  /** Handshakes per minute per address that name no tenant or are malformed (default 600). */
  unknownTenantPerMinute?: number;
  /** Bound on the counters of each budget (default 100,000). */
  maxKeys?: number;
  /** Clock, for tests. */
  now?: () => number;
}

const UNVERIFIED = "";
/** The scope of a tenant's HTTP request counters (a slug never contains NUL). */
const requestScope = (tenant: string) => `${tenant}\u0000http`;

export class RateLimits {
  readonly unknownTenantPerMinute: number;
  private readonly unverified: WindowCounters;
  private readonly tenants: WindowCounters;

  constructor(options: RateLimitOptions = {}) {
    const now = options.now ?? Date.now;
    const maxKeys = options.maxKeys ?? DEFAULT_MAX_LIMITER_KEYS;
    this.unknownTenantPerMinute = options.unknownTenantPerMinute ?? DEFAULT_UNKNOWN_TENANT_RATE_PER_MIN;
    this.unverified = new WindowCounters(maxKeys, now);
    this.tenants = new WindowCounters(maxKeys, now);
  }

  /** Before the tenant lookup: false when `address` has spent its budget of unverified handshakes. */
  addressAllowed(address: string): boolean {
    return this.unverified.peek(UNVERIFIED, address) < this.unknownTenantPerMinute;
  }

  /** A handshake that named no tenant or was malformed: counted against `address`'s budget. */
  countUnverified(address: string): void {
    this.unverified.take(UNVERIFIED, address, this.unknownTenantPerMinute);
  }

  /** True when this handshake is within the tenant's per-address budget (and counts it). */
  allowTenant(tenant: string, address: string, perMinute: number): boolean {
    return this.tenants.take(tenant, address, perMinute);
  }

  /** True when this HTTP request is within the tenant's per-address request budget (and counts it). */
  allowTenantRequest(tenant: string, address: string, perMinute: number): boolean {
    return this.tenants.take(requestScope(tenant), address, perMinute);
  }

  /** Seconds until a refused address may try again (`requests`: the tenant's HTTP request budget). */
  retryAfterSeconds(tenant: string | null, requests = false): number {
    if (tenant === null) return this.unverified.retryAfterSeconds(UNVERIFIED);
    return this.tenants.retryAfterSeconds(requests ? requestScope(tenant) : tenant);
  }

  /** Drops a removed tenant's counters. */
  forget(tenant: string): void {
    this.tenants.forget(tenant);
    this.tenants.forget(requestScope(tenant));
  }

  /** Counter and scope counts, for the metrics. */
  sizes(): { unverifiedKeys: number; tenantKeys: number; tenantScopes: number; maxKeys: number } {
    return {
      unverifiedKeys: this.unverified.size,
      tenantKeys: this.tenants.size,
      tenantScopes: this.tenants.scopeCount,
      maxKeys: this.unverified.maxKeys,
    };
  }
}
