/**
 * Handshake rate per client IP, per tenant, with rate-limiter-flexible's in-memory limiter
 * (a fixed window of 60 s). One limiter per tenant, rebuilt when the tenant's limit changes.
 * Each gateway counts on its own: a fleet of N gateways admits up to N times the limit per
 * IP in the worst case, which is the usual trade-off for a stateless fleet.
 */
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";

export class RateLimits {
  private readonly limiters = new Map<string, { points: number; limiter: RateLimiterMemory }>();

  /** True when this handshake is within the tenant's per-IP budget (and counts it). */
  async allow(tenant: string, ip: string, perMinute: number): Promise<boolean> {
    let entry = this.limiters.get(tenant);
    if (!entry || entry.points !== perMinute) {
      entry = { points: perMinute, limiter: new RateLimiterMemory({ points: perMinute, duration: 60 }) };
      this.limiters.set(tenant, entry);
    }
    try {
      await entry.limiter.consume(ip, 1);
      return true;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return false;
      throw rejection;
    }
  }

  forget(tenant: string): void {
    this.limiters.delete(tenant);
  }
}
