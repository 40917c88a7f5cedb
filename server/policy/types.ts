/**
 * Shared shapes of the policy engine: the policy document (SPEC §10, without `version`),
 * its limits and the defaults a new tenant starts from.
 *
 * Browser-safe: no imports at all. The dashboard's client components import this.
 * Invariant: `defaultPolicyDocument()` is the most restrictive useful policy (enforce,
 * no origins, credentials forbidden, missing Origin rejected), so a tenant that was
 * never configured refuses every browser.
 */

export type PolicyMode = "enforce" | "report-only";

export interface PolicyOriginEntry {
  pattern: string;
  note?: string | null;
  /** ISO 8601 date-time with an explicit offset (`Z` or `+02:00`); the entry stops matching at that instant. */
  expiresAt?: string | null;
}

export interface PolicyLimits {
  maxMessageBytes: number;
  idleTimeoutSeconds: number;
  maxConnections: number;
  handshakesPerMinutePerIp: number;
}

export interface PolicyDocument {
  mode: PolicyMode;
  origins: PolicyOriginEntry[];
  credentials: "forbid" | "allow";
  token: "off" | "required";
  missingOrigin: "reject" | "allow";
  subprotocols: string[];
  limits: PolicyLimits;
}

export const DEFAULT_LIMITS: PolicyLimits = {
  maxMessageBytes: 1_048_576,
  idleTimeoutSeconds: 60,
  maxConnections: 10_000,
  handshakesPerMinutePerIp: 600,
};

/** A fresh document each call (callers mutate drafts in editors). */
export function defaultPolicyDocument(): PolicyDocument {
  return {
    mode: "enforce",
    origins: [],
    credentials: "forbid",
    token: "off",
    missingOrigin: "reject",
    subprotocols: [],
    limits: { ...DEFAULT_LIMITS },
  };
}

/**
 * One line of a decision trace (the handshake tester and the dashboard show these).
 * Declared here, next to the document, because both decide-handshake.ts (which records
 * the steps) and explain-handshake.ts (which exports them) need it.
 */
export interface ExplainStep {
  check: "origin" | "credentials" | "token" | "subprotocol" | "mode";
  outcome: "pass" | "fail" | "skip" | "info";
  message: string;
}
