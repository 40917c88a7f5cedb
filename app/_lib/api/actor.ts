/**
 * The actor of a request: who (the user's e-mail, or `token:<name>`) and from where (the client
 * address by the TRUST_PROXY rule), and a token's policy-as-code scope. Revisions record its
 * label; the activity log all of it.
 */
import "server-only";
import type { Principal } from "@/app/_lib/auth/principal";
import { requestClientAddress } from "@/app/_lib/auth/request-address";
import type { Actor } from "@/server/domain/activity/record-activity";

export function actorOf(principal: Principal, request?: Request): Actor {
  return {
    id: principal.id,
    label: principal.label,
    kind: principal.kind,
    address: request ? requestClientAddress(request.headers) : null,
    policyAsCode: principal.kind === "token" && principal.policyAsCode,
  };
}
