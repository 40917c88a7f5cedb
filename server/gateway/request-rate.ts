/**
 * The per-address budgets of one tenant for HTTP-side decisions (server/gateway/limits.ts):
 * WebSocket handshakes decided by forward auth share the tenant's
 * `handshakesPerMinutePerIp` budget with the gateway's own handshakes, and HTTP/SSE requests
 * (proxied or forward-auth) count against `requestsPerMinutePerIp` (SPEC §4.6).
 */
import type { GatewayContext } from "./context";

export type RequestBudget = "handshake" | "http";

/** True when this request is within `tenant`'s per-address budget (and counts it). */
export function requestRateAllowed(
  ctx: GatewayContext,
  tenant: string,
  budget: RequestBudget,
  address: string,
  perMinute: number,
): boolean {
  return budget === "handshake"
    ? ctx.rateLimits.allowTenant(tenant, address, perMinute)
    : ctx.rateLimits.allowTenantRequest(tenant, address, perMinute);
}
