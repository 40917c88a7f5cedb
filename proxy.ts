/**
 * Next.js proxy (formerly middleware), for every page (not the API, not Next's assets):
 *
 *  - the Content-Security-Policy with a fresh nonce per request
 *    (app/_lib/security/content-security-policy.ts), on the response and on the request,
 *    where Next.js reads the nonce for its own scripts;
 *  - an optimistic sign-in check: a page request without a session cookie goes straight to
 *    /login?next=<where it was going> (/login and /setup are public). The real checks (valid
 *    session, role) run in every page and route handler on the server.
 */
import { randomBytes } from "node:crypto";
import { type NextRequest, NextResponse } from "next/server";
import { contentSecurityPolicy } from "./app/_lib/security/content-security-policy";
import { config as settings } from "./server/config";

const SESSION_COOKIES = ["origingate.session_token", "__Secure-origingate.session_token"];
const PUBLIC_PAGES = /^\/(login|setup)(\/|$)/;

export function proxy(request: NextRequest): NextResponse {
  const nonce = randomBytes(18).toString("base64");
  const csp = contentSecurityPolicy({
    nonce,
    gatewayPublicUrl: settings().gatewayPublicUrl,
    dev: process.env.NODE_ENV === "development",
  });
  const signedIn = SESSION_COOKIES.some((name) => request.cookies.has(name));
  let response: NextResponse;
  if (!signedIn && !PUBLIC_PAGES.test(request.nextUrl.pathname)) {
    const url = request.nextUrl.clone();
    url.pathname = "/login";
    url.search = "";
    const target = request.nextUrl.pathname + request.nextUrl.search;
    if (target !== "/") url.searchParams.set("next", target);
    response = NextResponse.redirect(url);
  } else {
    const headers = new Headers(request.headers);
    headers.set("content-security-policy", csp);
    headers.set("x-nonce", nonce);
    response = NextResponse.next({ request: { headers } });
  }
  response.headers.set("Content-Security-Policy", csp);
  return response;
}

export const config = {
  matcher: [
    {
      // Pages only: not the API (it answers 401 itself and serves JSON), not Next's assets.
      source: "/((?!api/|_next/|favicon\\.ico|robots\\.txt).*)",
      // Prefetches of next/link carry no HTML to protect.
      missing: [
        { type: "header", key: "next-router-prefetch" },
        { type: "header", key: "purpose", value: "prefetch" },
      ],
    },
  ],
};
