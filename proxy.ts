/**
 * Next.js proxy (formerly middleware): an optimistic check only. A page request without a
 * session cookie goes straight to /login?next=<where it was going>. The real checks (valid
 * session, role) run in every page and route handler on the server.
 */
import { type NextRequest, NextResponse } from "next/server";

const SESSION_COOKIES = ["origingate.session_token", "__Secure-origingate.session_token"];

export function proxy(request: NextRequest): NextResponse {
  if (SESSION_COOKIES.some((name) => request.cookies.has(name))) return NextResponse.next();
  const url = request.nextUrl.clone();
  url.pathname = "/login";
  url.search = "";
  const target = request.nextUrl.pathname + request.nextUrl.search;
  if (target !== "/") url.searchParams.set("next", target);
  return NextResponse.redirect(url);
}

export const config = {
  // Pages only: not the API (it answers 401 itself), not Next's assets, not the public pages.
  matcher: ["/((?!api/|_next/|login|setup|favicon\\.ico|robots\\.txt).*)"],
};
