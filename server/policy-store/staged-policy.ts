/**
 * Staged versions at enforcement time (SPEC §5.2): which compiled policy decides a client,
 * and which one is only consulted (shadow, or the active version beside a guarded canary).
 *
 *  - shadow: the active version decides; the staged one decides too, and its decision is
 *    recorded where the two differ. Nobody is refused by it.
 *  - canary by label: a gateway carrying one of the rollout's labels (GATEWAY_LABELS)
 *    enforces the staged version for everyone; other gateways ignore it.
 *  - canary by percent: every gateway enforces it for the clients whose address hashes into
 *    the first `percent` of 100 buckets — stable across gateways and restarts, so one client
 *    sees one version.
 * A guarded canary also consults the active version for its clients, to count the
 * refusals only the staged version makes (the guard). Without a staged version nothing
 * here runs but one property read: the handshake path stays as cheap as before.
 *
 * Pure: no I/O.
 */
import type { CompiledPolicy } from "../policy";

export interface StagedRuntime {
  rolloutId: string;
  version: number;
  stage: "shadow" | "canary";
  compiled: CompiledPolicy;
  /** Canary enforced by this gateway for every client (one of its labels matched). */
  everyone: boolean;
  /** Canary share of client addresses, 0-99 (0: none by percent). */
  percent: number;
  /** Guard threshold (null: no guard). */
  guardMaxNewRefusalsPerMinute: number | null;
}

/** What decides one client, and what is consulted beside it. */
export interface PolicyChoice {
  /** The policy whose decision is enforced. */
  enforced: CompiledPolicy;
  /** Shadow: the staged policy to decide with too, recorded where it differs. */
  shadow: CompiledPolicy | null;
  /** Guarded canary serving this client: the active policy, to count new refusals. */
  guardBaseline: CompiledPolicy | null;
  /** The staged version took part (shadow, or canary for this client): the guard counts it. */
  staged: StagedRuntime | null;
}

/** FNV-1a (32 bit) of the client address, into one of 100 buckets: stable everywhere. */
export function canaryBucket(remoteAddr: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < remoteAddr.length; i++) {
    hash ^= remoteAddr.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % 100;
}

/** True when this gateway (its labels) applies the canary to every client. */
export function canaryAppliesToGateway(canaryLabels: readonly string[], gatewayLabels: readonly string[]): boolean {
  return canaryLabels.some((label) => gatewayLabels.includes(label));
}

/**
 * The policy that decides `remoteAddr` for a tenant whose active policy is `active` and
 * whose staged version is `staged` (null: none).
 */
export function choosePolicy(active: CompiledPolicy, staged: StagedRuntime | null, remoteAddr: string): PolicyChoice {
  if (staged === null) return { enforced: active, shadow: null, guardBaseline: null, staged: null };
  if (staged.stage === "shadow") return { enforced: active, shadow: staged.compiled, guardBaseline: null, staged };
  const inCanary = staged.everyone || (staged.percent > 0 && canaryBucket(remoteAddr) < staged.percent);
  if (!inCanary) return { enforced: active, shadow: null, guardBaseline: null, staged: null };
  return {
    enforced: staged.compiled,
    shadow: null,
    guardBaseline: staged.guardMaxNewRefusalsPerMinute === null ? null : active,
    staged,
  };
}

/** A decision as an audit row labels it (decision, reason). */
export function auditOutcome(d: { allowed: boolean; enforced: boolean; reason: string; wouldReject?: string }): {
  decision: "accepted" | "rejected" | "report_only";
  reason: string;
} {
  if (!d.allowed) return { decision: "rejected", reason: d.reason };
  return { decision: d.enforced ? "accepted" : "report_only", reason: d.wouldReject ?? "allowed" };
}

/** The policy enforced for `remoteAddr` (HTTP, forward auth): a canary's staged version for its clients. */
export function enforcedPolicy(
  runtime: { compiled: CompiledPolicy; active: CompiledPolicy; staged: StagedRuntime | null },
  remoteAddr: string,
): CompiledPolicy {
  return runtime.staged === null ? runtime.compiled : choosePolicy(runtime.active, runtime.staged, remoteAddr).enforced;
}
