/**
 * The audit event and metric of one HTTP-side decision: a request proxied by the gateway
 * (kinds `http` and `preflight`, via `gateway`) or a forward-auth subrequest (any kind, via
 * `forward_auth`). One event per request, like a handshake; the pipeline folds identical
 * ones (SPEC §5.1, §6).
 *
 * Untrusted text (slug, origin, path, user agent) is clipped by the audit pipeline itself
 * (server/audit/bound-event.ts); here the path loses its query (tokens travel there), and a
 * bearer subprotocol is never recorded (its name is the token).
 */
import type { AuditDecision, AuditEventInput, AuditKind, AuditVia } from "../audit/types";
import type { Reason } from "../policy";
import type { GatewayContext } from "./context";
import { pathOnly } from "./upstream-path";

/** The metric label of requests that did not name a loaded tenant (never the slug itself). */
export const UNKNOWN_TENANT_LABEL = "_unknown";

export interface RequestFacts {
  kind: Extract<AuditKind, "http" | "preflight" | "handshake">;
  via: AuditVia;
  /** The slug as requested ("" when it was not looked at: the event then names no tenant). */
  slug: string;
  /** True once the slug named a loaded tenant. */
  known: boolean;
  /** The Origin header's lines joined (null when absent). */
  origin: string | null;
  remoteAddr: string;
  userAgent: string | null;
  /** The (original) request path, query included or not: the query is cut here. */
  path: string | null;
  /** The (original) request method. */
  method: string | null;
  /** The subprotocol selected by a handshake decision (forward auth), or null. */
  subprotocol?: string | null;
  /** A handshake decision's replay facts (SPEC §5.2; server/gateway/handshake.ts replayFacts). */
  replay?: Pick<AuditEventInput, "credentials" | "tokenState" | "offeredSubprotocols">;
}

/** What a decision contributes to its event. */
export interface DecisionFacts {
  allowed: boolean;
  enforced: boolean;
  reason: Reason;
  wouldReject?: Reason;
  normalizedOrigin: string | null;
  policyVersion: number;
  matchedPattern: string | null;
}

/** accepted / report_only / rejected, as handshake events say it. */
export function decisionLabel(decision: DecisionFacts): AuditDecision {
  if (!decision.allowed) return "rejected";
  return decision.enforced ? "accepted" : "report_only";
}

/** The event's reason: the refusal, or in report-only what enforce would have refused. */
export function decisionReason(decision: DecisionFacts): Reason {
  return decision.allowed ? (decision.wouldReject ?? "allowed") : decision.reason;
}

export function requestEvent(
  facts: RequestFacts,
  label: AuditDecision,
  reason: Reason,
  decision?: DecisionFacts,
): AuditEventInput {
  const path = facts.path === null ? null : pathOnly(facts.path);
  const subprotocol = facts.subprotocol?.startsWith("bearer.") ? "bearer.[redacted]" : (facts.subprotocol ?? null);
  return {
    ts: Date.now(),
    kind: facts.kind,
    via: facts.via,
    tenant: facts.slug === "" ? null : facts.slug,
    decision: label,
    reason,
    origin: facts.origin,
    originNormalized: decision?.normalizedOrigin ?? null,
    remoteAddr: facts.remoteAddr,
    userAgent: facts.userAgent,
    path,
    subprotocol,
    policyVersion: decision?.policyVersion ?? null,
    matchedPattern: decision?.matchedPattern ?? null,
    closeCode: null,
    durationMs: null,
    details: facts.method === null ? null : { method: facts.method },
    ...facts.replay,
  };
}

/** Counts the request (metrics; unknown slugs share one label) and records its audit event. */
export function recordRequest(
  ctx: GatewayContext,
  facts: RequestFacts,
  label: AuditDecision,
  reason: Reason,
  decision?: DecisionFacts,
): void {
  ctx.metrics.countRequest(facts.known ? facts.slug : UNKNOWN_TENANT_LABEL, facts.via, facts.kind, label, reason);
  ctx.audit.record(requestEvent(facts, label, reason, decision));
}
