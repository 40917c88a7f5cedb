/**
 * CSRF: a state-changing request authenticated by the session cookie must come from a page
 * of the dashboard itself, i.e. carry an `Origin` equal to the dashboard's origin
 * (DASHBOARD_URL). Browsers send Origin on every POST/PUT/PATCH/DELETE, same-origin
 * included, so a missing Origin is refused too. Bearer-token requests are exempt (a
 * browser never attaches a token by itself). SameSite=Lax cookies are the second layer.
 */
import "server-only";
import { config } from "@/server/config";
import { AppError } from "@/server/domain/errors";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function dashboardOrigin(): string {
  return new URL(config().dashboardUrl).origin;
}

export function isStateChanging(method: string): boolean {
  return !SAFE_METHODS.has(method.toUpperCase());
}

export function assertSameOrigin(request: Request): void {
  const origin = request.headers.get("origin");
  if (origin === null || origin !== dashboardOrigin()) {
    throw new AppError(
      "csrf",
      "This request must come from the dashboard itself (its Origin header is missing or foreign); scripts should use an API token",
    );
  }
}
