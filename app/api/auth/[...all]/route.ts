// GET|POST /api/auth/* - Better Auth: sign-in (password, second factor, single sign-on), sign-out, session (public sign-up is disabled)
import { handleApiError } from "@/app/_lib/api/handle-api-error";
import { getAuth } from "@/app/_lib/auth/auth";
import { runAuthRequest } from "@/app/_lib/auth/auth-request";
import { CLIENT_ADDRESS_HEADER, withClientAddress } from "@/app/_lib/auth/request-address";

async function handle(request: Request): Promise<Response> {
  let stamped: Request;
  try {
    stamped = await withClientAddress(request);
  } catch (error) {
    return handleApiError(error);
  }
  const auth = await getAuth();
  return runAuthRequest(stamped.headers.get(CLIENT_ADDRESS_HEADER) ?? "unknown", () => auth.handler(stamped));
}

export const GET = handle;
export const POST = handle;
