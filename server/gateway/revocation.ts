/**
 * Open connections follow the policy (SPEC §4.5): what to do with one open connection when
 * its tenant's enforced policy changes, or its token expires.
 *
 * A connection keeps the facts its handshake was judged on (origin lines, whether a Cookie
 * or Authorization header came, the offered subprotocols, the token parameter) and the
 * compiled policy that last judged it. On a change the same pure engine
 * (`decideHandshake`) judges those facts again under the new policy, at the current time:
 *  - refused (enforce) → closed with 1008 `policy_revoked`; the audit event (kind
 *    `revoked`) says why in `details.cause` (e.g. origin_not_allowed, token_invalid after a
 *    rotation's overlap ended);
 *  - the tenant is gone → closed with 1008 `policy_revoked` (cause `tenant_deleted`);
 *  - report-only and enforce would refuse it → left open; one `revoked` event with decision
 *    `report_only` says what enforce would have done (once per cause, not per change);
 *  - admitted → nothing (limits are not re-judged: lowering one closes nothing).
 * A connection admitted with a token is closed with 1008 `token_expired` once the token
 * expires (checked by the registry's 250 ms sweep: no timer per connection; report-only
 * reports it instead); a re-judgement after that instant says token_expired too, never
 * policy_revoked. A deleted tenant closes everything, whatever its mode was.
 *
 * Pure: no sockets here — the registry applies the verdict.
 */
import { type CompiledPolicy, decideHandshake, type HandshakeRequest, type Reason } from "../policy";

/** The facts of a handshake that the engine judges (everything but the time). */
export type HandshakeFacts = Omit<HandshakeRequest, "now">;

export type Verdict =
  | { action: "keep" }
  | { action: "report"; cause: Reason; policyVersion: number }
  | {
      action: "close";
      reason: "policy_revoked" | "token_expired";
      /** The refusal behind a policy_revoked (or `tenant_deleted`), for the audit event. */
      cause: Reason | "tenant_deleted" | null;
      policyVersion: number | null;
    };

const KEEP: Verdict = { action: "keep" };

/** Judges an open connection's facts under `policy` (null: the tenant is gone) at `now`. */
export function judgeOpenConnection(
  facts: HandshakeFacts,
  tokenValidUntil: number,
  policy: CompiledPolicy | null,
  now: number,
): Verdict {
  if (policy === null)
    return { action: "close", reason: "policy_revoked", cause: "tenant_deleted", policyVersion: null };
  if (now >= tokenValidUntil) {
    return policy.settings.enforce
      ? { action: "close", reason: "token_expired", cause: null, policyVersion: policy.version }
      : { action: "report", cause: "token_expired", policyVersion: policy.version };
  }
  const decision = decideHandshake(policy, { ...facts, now });
  if (!decision.allowed) {
    return { action: "close", reason: "policy_revoked", cause: decision.reason, policyVersion: decision.policyVersion };
  }
  if (decision.wouldReject)
    return { action: "report", cause: decision.wouldReject, policyVersion: decision.policyVersion };
  return KEEP;
}
