// GET|POST /api/auth/* - Better Auth: sign-in, sign-out, session (public sign-up is disabled)
import { getAuth } from "@/app/_lib/auth/auth";
import { withClientAddress } from "@/app/_lib/auth/request-address";

export async function GET(request: Request): Promise<Response> {
  return (await getAuth()).handler(withClientAddress(request));
}

export async function POST(request: Request): Promise<Response> {
  return (await getAuth()).handler(withClientAddress(request));
}
