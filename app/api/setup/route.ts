// POST /api/setup - create the first admin with the one-time setup token (public; same-origin only)

import { readJson } from "@/app/_lib/api/api-route";
import { handleApiError } from "@/app/_lib/api/handle-api-error";
import { completeSetup, completeSetupInput } from "@/app/_lib/auth/complete-setup";
import { assertSameOrigin } from "@/app/_lib/auth/csrf";
import { requestClientAddress } from "@/app/_lib/auth/request-address";
import { getPrisma } from "@/app/_lib/db";

export async function POST(request: Request): Promise<Response> {
  try {
    assertSameOrigin(request);
    const user = await completeSetup({
      db: getPrisma(),
      input: completeSetupInput.parse(await readJson(request)),
      address: requestClientAddress(request.headers),
    });
    return Response.json({ user: { email: user.email, role: user.role } }, { status: 201 });
  } catch (error) {
    return handleApiError(error);
  }
}
