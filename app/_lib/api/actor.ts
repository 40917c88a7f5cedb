/** The revision author for a principal: the user's e-mail, or `token:<name>` (and its policy-as-code scope). */
import "server-only";
import type { Principal } from "../auth/principal";
import type { Actor } from "../policy/save-policy";

export function actorOf(principal: Principal): Actor {
  return {
    id: principal.kind === "user" ? principal.id : null,
    label: principal.label,
    policyAsCode: principal.kind === "token" && principal.policyAsCode,
  };
}
