/**
 * Response shapes of the tester (gateway `/admin/tester/*`, passed through unchanged by
 * `POST /api/v1/tester/handshake|scan`, SPEC §10). Browser-safe: types only.
 */
import type { ExplainStep } from "../policy/types";
import type { CorsHeadersSeen, CorsIssue } from "./cors-findings";
import type { HandshakeErrorCode, HandshakeResult, HandshakeTimings } from "./run-handshake";

export type { HandshakeErrorCode, HandshakeTimings };

export interface TesterTarget {
  kind: "tenant" | "endpoint";
  tenant: string;
  /** The URL connected to, query values hidden. */
  url: string;
  label?: string | null;
}

export interface TesterTrace {
  decision: {
    allowed: boolean;
    reason: string;
    status: number;
    matchedPattern: string | null;
    enforced: boolean;
    wouldReject?: string;
    normalizedOrigin: string | null;
    selectedSubprotocol: string | null;
    detail?: string;
  };
  steps: ExplainStep[];
  closestPattern?: { pattern: string; why: string };
}

/** One handshake's answer (see HandshakeResult) with what the tester adds around it. */
export type HandshakeResponse = Omit<HandshakeResult, "url"> & {
  runId: string;
  target: TesterTarget;
  /** X-OriginGate-Reason of the answer, when present. */
  reason?: string;
  /** Targets on this gateway: the decision trace of the policy in force, and its version. */
  trace?: TesterTrace;
  policyVersion?: number;
};

export type Expected = "allow" | "refuse";
export type Observed = "allowed" | "refused" | "error";

export interface ScanResult {
  /** What the variant probes ("prefixed host (endsWith check)", ...). */
  variant: string;
  /** The Origin sent; null = no Origin header. */
  origin: string | null;
  /** Sent byte for byte although not in canonical form. */
  raw?: boolean;
  /** Allowlist entries this variant was derived from. */
  patterns: string[];
  /** What the tenant's policy says (decideHandshake with the same inputs). */
  expected: Expected;
  expectedReason: string;
  /** What the target did. */
  observed: Observed;
  status: number | null;
  reason?: string;
  closeCode?: number;
  /** Why `observed` is what it is, in words (errors, upgrade-then-close...). */
  detail?: string;
  /** The target accepted what the policy refuses. */
  finding: boolean;
}

export interface ScanResponse {
  runId: string;
  target: TesterTarget;
  policyVersion: number;
  mode: "enforce" | "report-only";
  results: ScanResult[];
  findings: ScanResult[];
  summary: {
    variants: number;
    allowed: number;
    refused: number;
    errors: number;
    findings: number;
    /** The target refused what the policy allows (over-blocking; not a security finding). */
    mismatches: number;
    rateLimited: number;
  };
  /** More variants existed than were run (bounded). */
  truncated: boolean;
  /** The scan hit its time limit; the variants not run are errors. */
  incomplete: boolean;
  notes: string[];
  durationMs: number;
}

/** One CORS request's answer (`POST /api/v1/tester/cors`). */
export interface CorsTestResponse {
  runId: string;
  target: TesterTarget;
  request: { method: string; preflight: boolean; origin: string | null; requestHeaders: string[] };
  status: number | null;
  statusLine: string | null;
  headers: Record<string, string>;
  cors: CorsHeadersSeen;
  /** Whether a page on the Origin sent could read this answer. */
  granted: boolean;
  /** Misconfigurations this answer shows (server/tester/cors-findings.ts). */
  issues: CorsIssue[];
  /** X-OriginGate-Reason of the answer, when present. */
  reason?: string;
  timings: { response: number | null; total: number };
  error?: { code: HandshakeErrorCode; message: string };
  /** Targets on this gateway: the CORS decision trace of the policy in force, and its version. */
  trace?: {
    decision: {
      kind: "preflight" | "actual";
      allowed: boolean;
      reason: string;
      status: number;
      enforced: boolean;
      wouldReject?: string;
      matchedPattern: string | null;
      normalizedOrigin: string | null;
      headers: Record<string, string>;
      detail?: string;
    };
    steps: ExplainStep[];
  };
  policyVersion?: number;
}

export interface CorsScanResult {
  variant: string;
  origin: string | null;
  raw?: boolean;
  patterns: string[];
  /** "request": an actual GET; "preflight": OPTIONS with Access-Control-Request-Method: PUT. */
  probe: "request" | "preflight";
  expected: Expected;
  expectedReason: string;
  /** granted: the answer lets a page on this origin read it; refused; error: inconclusive. */
  observed: "granted" | "refused" | "error";
  status: number | null;
  cors: CorsHeadersSeen;
  issues: CorsIssue[];
  detail?: string;
  finding: boolean;
}

export interface CorsScanResponse {
  runId: string;
  target: TesterTarget;
  policyVersion: number;
  mode: "enforce" | "report-only";
  results: CorsScanResult[];
  findings: CorsScanResult[];
  summary: { probes: number; granted: number; refused: number; errors: number; findings: number; mismatches: number };
  truncated: boolean;
  incomplete: boolean;
  notes: string[];
  durationMs: number;
}
