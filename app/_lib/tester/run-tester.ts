/**
 * runTester: `POST /api/v1/tester/handshake|scan|cors|cors-scan` on the dashboard's side. Validates the
 * body with the gateway's own schemas (server/tester/input.ts; a ZodError becomes the
 * API's 422), mints a 60-second admin token (scope "tester") for the principal, and calls
 * the gateway at GATEWAY_INTERNAL_URL — the dashboard's server talks to the gateway, the
 * browser never does.
 *
 * The gateway's answer is passed on with its status and body (same error shape), except
 * these, thrown as AppError (the routes' handleApiError answers them like any other error):
 *  - gateway unreachable or answering without JSON → 502 gateway_unavailable; no answer in
 *    time → 504 gateway_timeout;
 *  - the gateway refusing the admin token (401) → 502 gateway_auth_failed: the user is
 *    signed in; a 401 would send the browser back to the login page for nothing.
 * Server-only.
 */
import "server-only";
import { mintAdminToken } from "@/app/_lib/admin/mint-admin-token";
import type { Principal } from "@/app/_lib/auth/principal";
import { log } from "@/app/_lib/log";
import { config } from "@/server/config";
import { AppError } from "@/server/domain/errors";
import { corsInputSchema, corsScanInputSchema } from "@/server/tester/cors-input";
import { handshakeInputSchema, scanInputSchema } from "@/server/tester/input";

/** A scan stops itself after 25 s on the gateway; allow for the answer to travel. */
const TIMEOUT_MS = { handshake: 20_000, scan: 45_000, cors: 20_000, "cors-scan": 45_000 } as const;
const SCHEMAS = {
  handshake: handshakeInputSchema,
  scan: scanInputSchema,
  cors: corsInputSchema,
  "cors-scan": corsScanInputSchema,
} as const;

export type TesterRun = keyof typeof SCHEMAS;

export interface TesterReply {
  status: number;
  body: unknown;
}

export async function runTester(options: {
  run: TesterRun;
  input: unknown;
  principal: Principal;
}): Promise<TesterReply> {
  const input = SCHEMAS[options.run].parse(options.input);
  // A token limited to one tenant tests that tenant (and its registered endpoints) only; the
  // gateway checks the admin token's tenant claim again.
  if (options.principal.tenant !== null && input.tenant !== options.principal.tenant) {
    throw new AppError(
      "out_of_scope",
      `This API token is limited to tenant ${options.principal.tenant}: give it as "tenant" (other tenants cannot be tested)`,
    );
  }
  const gateway = config().gatewayInternalUrl;
  const token = await mintAdminToken(options.principal, "tester");
  let response: Response;
  try {
    response = await fetch(`${gateway}/admin/tester/${options.run}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(input),
      cache: "no-store",
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS[options.run]),
    });
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    log().warn({ gateway, run: options.run, err: (error as Error).message }, "tester: gateway call failed");
    throw timedOut
      ? new AppError(
          "gateway_timeout",
          `The gateway at ${gateway} did not answer within ${TIMEOUT_MS[options.run] / 1000} s`,
          { cause: error },
        )
      : new AppError("gateway_unavailable", `The gateway at ${gateway} cannot be reached (GATEWAY_INTERNAL_URL)`, {
          cause: error,
        });
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    throw new AppError("gateway_unavailable", `The gateway at ${gateway} answered ${response.status} without JSON`, {
      cause: error,
    });
  }
  if (response.status === 401) {
    log().error({ gateway, body }, "tester: the gateway refused the dashboard's admin token");
    throw new AppError(
      "gateway_auth_failed",
      "The gateway refused the dashboard's admin token: are the dashboard and the gateway using the same database?",
    );
  }
  return { status: response.status, body };
}
