/**
 * The per-address budgets of one tenant for HTTP-side decisions: WebSocket handshakes
 * decided by forward auth share the tenant's `handshakesPerMinutePerIp` budget with the
 * gateway's own handshakes, and HTTP/SSE requests (proxied or forward-auth) count against
 * `requestsPerMinutePerIp` (SPEC §4.6), a separate scope of the same limiter.
 */
import type { GatewayContext } from "./gateway";

export type RequestBudget = "handshake" | "http";

/** True when this request is within `tenant`'s per-address budget (and counts it). */
export async function requestRateAllowed(
  ctx: GatewayContext,
  tenant: string,
  budget: RequestBudget,
  address: string,
  perMinute: number,
): Promise<boolean> {
  return ctx.rateLimits.allow(budget === "handshake" ? tenant : `${tenant}\u0000http`, address, perMinute);
}
