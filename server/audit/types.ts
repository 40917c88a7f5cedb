/**
 * The shape of one audit event as the gateway records it (before folding and batching).
 * Column-for-column with `audit_event` (prisma/schema.prisma). Never put a token, cookie or
 * query string in here: `path` is the path only. Values need not be clipped by the
 * producer: `AuditPipeline.record()` bounds every field first (server/audit/bound-event.ts).
 */
/** Event kinds (SPEC §6), as the `audit_kind` enum has them. Browser-safe (no imports here). */
export const AUDIT_KINDS = ["handshake", "close", "revoked", "dropped", "tester", "http", "preflight"] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];
export type AuditDecision = "accepted" | "rejected" | "report_only";
/**
 * How the request reached the decision: through the gateway itself, a proxy's forward-auth
 * subrequest, or the gateway's own tester (server/gateway/tester-mark.ts; left out of the
 * overview's statistics unless asked for).
 */
export const AUDIT_VIAS = ["gateway", "forward_auth", "tester"] as const;
export type AuditVia = (typeof AUDIT_VIAS)[number];

export interface AuditEventInput {
  /** Epoch ms of the event. */
  ts: number;
  kind: AuditKind;
  tenant: string | null;
  /** Null only on a `dropped` row (SPEC §6: it has no decision and no reason). */
  decision: AuditDecision | null;
  reason: string | null;
  origin: string | null;
  originNormalized: string | null;
  remoteAddr: string | null;
  userAgent: string | null;
  path: string | null;
  subprotocol: string | null;
  policyVersion: number | null;
  matchedPattern: string | null;
  closeCode?: number | null;
  durationMs?: number | null;
  details?: Record<string, unknown> | null;
  /** `gateway` unless set. */
  via?: AuditVia;
  /** How many identical events this one stands for (folding); 1 unless set. */
  count?: number;
  /**
   * Set only where a staged (shadow) version decided differently from the enforced one
   * (SPEC §5.2): its decision, reason and version. Our own reason codes, never client text.
   */
  shadowDecision?: AuditDecision | null;
  shadowReason?: string | null;
  shadowVersion?: number | null;
  /**
   * What an impact preview replays (SPEC §5.2), on handshakes the policy judged: a Cookie or
   * Authorization header came; the presented token's state (never the token); the offered
   * subprotocols without `bearer.*` entries, comma-joined ('' for none). Absent otherwise.
   */
  credentials?: boolean | null;
  tokenState?: "none" | "valid" | "invalid" | null;
  offeredSubprotocols?: string | null;
}

/**
 * An audit event with every field of AuditEventInput present (undefined where absent), for
 * events built once per connection (the handshake's and its close): written as one object
 * literal in one field order, they share one hidden class, so the pipeline's per-event code
 * (boundEvent, the fold check, encodeRow) reads them through monomorphic property accesses
 * instead of looking fields up in objects of many shapes (bench:handshake profile).
 */
export type AuditEventFields = AuditEventInput & { [K in AuditEventKey]: AuditEventInput[K] | undefined };
type AuditEventKey = keyof AuditEventInput;

export interface AuditSink {
  record(event: AuditEventInput): void;
}
