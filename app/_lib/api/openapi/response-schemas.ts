/**
 * What /api/v1 answers, as zod schemas for the OpenAPI document (openapi.json): each one
 * mirrors the TypeScript type the route returns, and the compiler holds them together —
 * `same<z.output<typeof schema>, DomainType>()` fails to type-check when a field is added,
 * removed or changes type on either side. The e2e tier then validates real responses
 * against the generated document (tests/e2e/openapi.spec.ts), which also catches an
 * optional field the types allow but the document does not list.
 *
 * Objects are closed (zod's output JSON Schema sets additionalProperties: false): an
 * undocumented field in a response is a failure, not a silent extension. The policy
 * document is derived from its one definition (server/policy/document.ts); only the
 * allowlist entry is restated here, in its stored form (note and expiry null when unset),
 * because the schema's own entry normalises input with transforms.
 */
import "server-only";
import { z } from "zod";
import type { ActivityPage } from "@/app/_lib/activity/list-activity";
import type { AlertDeliveryView, AlertView } from "@/app/_lib/alerts/alert-log";
import type { AlertRuleView } from "@/app/_lib/alerts/alert-rules";
import type { AlertWebhookView, createAlertWebhook, updateAlertWebhook } from "@/app/_lib/alerts/alert-webhooks";
import type { AllowOriginResult } from "@/app/_lib/audit/allow-audit-origin";
import type { SavedView } from "@/app/_lib/audit/audit-saved-views";
import type { AuditFacets, AuditHistogram } from "@/app/_lib/audit/explore-audit-events";
import type { ShadowSummary } from "@/app/_lib/audit/get-shadow-summary";
import type { MarkedAuditStats } from "@/app/_lib/audit/mark-allowed-origins";
import type { StreamToken } from "@/app/_lib/audit/mint-stream-token";
import type { AuditPage } from "@/app/_lib/audit/search-audit-events";
import type { SessionView } from "@/app/_lib/auth/user-sessions";
import type { Fleet } from "@/app/_lib/gateways/get-fleet";
import type { GatewayView } from "@/app/_lib/gateways/list-gateways";
import type { EntryUsageReport } from "@/app/_lib/policy/get-entry-usage";
import type { RevisionDetail } from "@/app/_lib/policy/get-revision";
import type { RevisionSummary } from "@/app/_lib/policy/list-revisions";
import type { ImpactPreview } from "@/app/_lib/policy/preview-impact";
import type { listRollouts, RolloutDetail } from "@/app/_lib/rollouts/list-rollouts";
import type { createSiemDestination } from "@/app/_lib/siem/create-siem-destination";
import type { SiemDestinationView } from "@/app/_lib/siem/list-siem-destinations";
import { SIEM_KINDS } from "@/app/_lib/siem/siem-destination-input";
import type { TenantDetail } from "@/app/_lib/tenants/get-tenant";
import type { TenantSummary } from "@/app/_lib/tenants/list-tenants";
import type { rotateTenantSecret } from "@/app/_lib/tenants/rotate-tenant-secret";
import type { TesterEndpointView } from "@/app/_lib/tester/list-endpoints";
import { ALERT_RULE_KINDS } from "@/server/alerts/alert-rule";
import { AUDIT_KINDS, AUDIT_VIAS } from "@/server/audit/types";
import type { AuditEvent } from "@/server/db/audit-queries";
import { PERMISSIONS, ROLES } from "@/server/domain/auth/permissions";
import type { VersionedPolicyDocument } from "@/server/domain/policy/document";
import type { SavePolicyResult } from "@/server/domain/policy/save-policy";
import type { RolloutView } from "@/server/domain/rollouts/rollout-view";
import type { ApiTokenView } from "@/server/domain/tokens/create-api-token";
import type { UserView } from "@/server/domain/users/create-user";
import type { PolicyDiff } from "@/server/policy/diff-documents";
import { type PolicyOriginEntry, policyDocumentSchema } from "@/server/policy/document";
import { REASONS } from "@/server/policy/reasons";
import { EXPLAIN_CHECKS } from "@/server/policy/types";
import { CORS_ISSUES } from "@/server/tester/cors-findings";
import { HANDSHAKE_ERROR_CODES } from "@/server/tester/run-handshake";
import type { CorsScanResponse, CorsTestResponse, HandshakeResponse, ScanResponse } from "@/server/tester/types";

/** Compile-time: A and B are assignable both ways and have the same keys (optional ones included). */
type Same<A, B> = [A] extends [B]
  ? [B] extends [A]
    ? [keyof A] extends [keyof B]
      ? [keyof B] extends [keyof A]
        ? true
        : false
      : false
    : false
  : false;
function same<A, B>(..._proof: Same<A, B> extends true ? [] : [never]): void {}

const isoTime = z.string().meta({ format: "date-time" });
const nullableTime = isoTime.nullable();

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

const issue = z.object({ path: z.string(), message: z.string() });

/** SPEC §10: `{ error: { code, message, details? } }`; a refused policy also lists its warnings. */
export const errorResponse = z
  .object({
    error: z.object({
      code: z
        .string()
        .meta({ description: "Stable: clients branch on it (validation_failed, version_conflict, ...)." }),
      message: z.string(),
      details: z.unknown().optional().meta({
        description: "validation_failed: [{ path, message }]; version_conflict: the current document and what changed.",
      }),
      warnings: z.array(issue).optional(),
    }),
  })
  .meta({ title: "Error" });

// ---------------------------------------------------------------------------------------
// Policies and revisions
// ---------------------------------------------------------------------------------------

const storedOriginEntry = z.object({ pattern: z.string(), note: z.string().nullable(), expiresAt: nullableTime });
same<z.output<typeof storedOriginEntry>, PolicyOriginEntry>();

/** The canonical document as the server stores and returns it (every field present). */
export const storedPolicyDocument = policyDocumentSchema.extend({ origins: z.array(storedOriginEntry) });

export const versionedPolicy = storedPolicyDocument.extend({ version: z.number().int().min(1) });
same<z.output<typeof versionedPolicy>, VersionedPolicyDocument>();

export const savedPolicy = versionedPolicy.extend({
  changed: z.boolean().meta({ description: "false: the document equalled the stored one; nothing was written." }),
  warnings: z.array(issue),
});
same<
  z.output<typeof savedPolicy>,
  SavePolicyResult["policy"] & Pick<SavePolicyResult, "changed"> & { warnings: SavePolicyResult["warnings"] }
>();

export const impactPreview = z.object({
  since: isoTime.meta({ description: "Start of the replayed window (aligned down to the UTC day)." }),
  until: isoTime,
  activeVersion: z.number().int().meta({ description: "The active version the draft was compared with." }),
  evaluated: z.number().int().meta({ description: "Recorded handshakes replayed." }),
  distinct: z.number().int().meta({ description: "Distinct (origin, credentials, token state, subprotocols) tuples." }),
  newlyRefused: z.array(
    z.object({
      origin: z
        .string()
        .nullable()
        .meta({ description: "Canonical origin (as sent when malformed); null: no Origin." }),
      reason: z.enum(REASONS),
      count: z.number().int(),
    }),
  ),
  newlyAllowed: z.array(z.object({ origin: z.string().nullable(), count: z.number().int() })),
});
same<z.output<typeof impactPreview>, ImpactPreview>();

export const entryUsage = z.object({
  days: z.number().int(),
  since: isoTime.meta({ description: "Start of the window (aligned down to the UTC day)." }),
  entries: z.array(
    z.object({
      pattern: z.string(),
      hits: z.number().int().meta({ description: "Matches in the window." }),
      lastMatch: nullableTime.meta({ description: "Last match in the kept audit history." }),
      createdAt: isoTime,
      unused: z.boolean().meta({ description: "No match in the window, and older than it." }),
    }),
  ),
});
same<z.output<typeof entryUsage>, EntryUsageReport>();

const originChange = z.object({
  pattern: z.string(),
  before: z.object({ note: z.string().nullable(), expiresAt: nullableTime }),
  after: z.object({ note: z.string().nullable(), expiresAt: nullableTime }),
});
const policyDiff = z.object({
  origins: z.object({
    added: z.array(storedOriginEntry),
    removed: z.array(storedOriginEntry),
    changed: z.array(originChange),
  }),
  fields: z.array(z.object({ path: z.string(), before: z.unknown(), after: z.unknown() })),
});
same<z.output<typeof policyDiff>, PolicyDiff>();

const rolloutState = z.enum(["pending_approval", "shadow", "canary", "promoted", "aborted", "rejected"]);
const revisionStage = {
  stage: rolloutState
    .nullable()
    .meta({ description: "The stage this version was published in; null: saved as the active version directly." }),
  rolloutState: rolloutState
    .nullable()
    .meta({ description: "Where the rollout of this version stands now; null: it had none." }),
};

const revisionSummary = z.object({
  version: z.number().int(),
  author: z.string(),
  comment: z.string().nullable(),
  rollbackOf: z.number().int().nullable(),
  createdAt: isoTime,
  originCount: z.number().int(),
  mode: z.string(),
  ...revisionStage,
});
same<z.output<typeof revisionSummary>, RevisionSummary>();

export const revisionList = z.object({ revisions: z.array(revisionSummary), nextBefore: z.number().int().nullable() });

export const revisionDetail = z.object({
  version: z.number().int(),
  author: z.string(),
  comment: z.string().nullable(),
  rollbackOf: z.number().int().nullable(),
  ...revisionStage,
  createdAt: isoTime,
  document: storedPolicyDocument,
  diffAgainst: z.number().int().nullable(),
  diff: policyDiff,
});
same<z.output<typeof revisionDetail>, RevisionDetail>();

// ---------------------------------------------------------------------------------------
// Tenants
// ---------------------------------------------------------------------------------------

export const tenantSummary = z.object({
  slug: z.string(),
  name: z.string(),
  upstreamUrl: z.string().nullable(),
  managedBy: z.string().nullable(),
  requireApproval: z.boolean().meta({ description: "Two-person rule: changes wait for a second person's approval." }),
  createdAt: isoTime,
  originCount: z.number().int(),
  mode: z.enum(["enforce", "report-only"]),
  version: z.number().int(),
  policyUpdatedAt: isoTime,
  policyUpdatedBy: z.string().nullable(),
  sync: z.object({ live: z.number().int(), inSync: z.number().int() }),
});
same<z.output<typeof tenantSummary>, TenantSummary>();

export const tenantDetail = tenantSummary.extend({ updatedAt: isoTime, tokenSecretRotatedAt: isoTime });
same<z.output<typeof tenantDetail>, TenantDetail>();

export const rotatedSecret = z.object({
  tokenSecret: z.string(),
  rotatedAt: isoTime,
  previousSecretValidUntil: nullableTime,
});
same<z.output<typeof rotatedSecret>, Awaited<ReturnType<typeof rotateTenantSecret>>>();

export const testerEndpoint = z.object({
  id: z.string(),
  url: z.string(),
  label: z.string().nullable(),
  createdAt: isoTime,
  createdBy: z.string().nullable(),
});
same<z.output<typeof testerEndpoint>, TesterEndpointView>();

// ---------------------------------------------------------------------------------------
// Gateways
// ---------------------------------------------------------------------------------------

export const gateway = z.object({
  id: z.string(),
  host: z.string(),
  pid: z.number().int(),
  startedAt: isoTime,
  lastHeartbeatAt: isoTime,
  stoppedAt: nullableTime,
  status: z.string(),
  live: z.boolean(),
  enforcedVersions: z.record(z.string(), z.number().int()),
  stagedVersions: z.record(
    z.string(),
    z.object({
      version: z.number().int(),
      stage: z.enum(["shadow", "canary"]),
      percent: z.number().int().optional().meta({ description: "Canary by share of client addresses." }),
    }),
  ),
  labels: z.array(z.string()),
});
same<z.output<typeof gateway>, GatewayView>();

export const fleet = z.object({
  checkedAt: isoTime,
  liveWindowMs: z.number(),
  gateways: z.array(
    gateway.extend({
      drift: z.array(
        z.object({
          gatewayId: z.string(),
          slug: z.string(),
          enforced: z.number().int().nullable(),
          latest: z.number().int(),
          inSync: z.boolean(),
          behindSince: nullableTime,
        }),
      ),
      behind: z.number().int(),
    }),
  ),
  tenants: z.array(z.object({ slug: z.string(), version: z.number().int(), updatedAt: isoTime })),
});
same<z.output<typeof fleet>, Fleet>();

// ---------------------------------------------------------------------------------------
// Rollouts (SPEC §5.2)
// ---------------------------------------------------------------------------------------

export const rollout = z.object({
  id: z.string(),
  tenant: z.string(),
  version: z.number().int(),
  baseVersion: z.number().int(),
  stage: rolloutState,
  state: rolloutState,
  requestedStage: rolloutState.nullable(),
  canary: z.object({ labels: z.array(z.string()), percent: z.number().int().nullable() }).nullable(),
  guard: z.object({ maxNewRefusalsPerMinute: z.number().int() }).nullable(),
  author: z.string(),
  comment: z.string().nullable(),
  approvedBy: z.string().nullable(),
  approvedAt: nullableTime,
  closedBy: z.string().nullable(),
  closedAt: nullableTime,
  createdAt: isoTime,
  updatedAt: isoTime,
  open: z.boolean(),
  steps: z
    .array(
      z.object({
        action: z.string(),
        from: rolloutState.nullable(),
        to: rolloutState,
        actor: z.string(),
        comment: z.string().nullable(),
        at: isoTime,
      }),
    )
    .optional(),
});
same<z.output<typeof rollout>, RolloutView>();

export const createdRollout = rollout.extend({ warnings: z.array(issue) });

export const rolloutList = z.object({ rollouts: z.array(rollout), requireApproval: z.boolean() });
same<z.output<typeof rolloutList>, Awaited<ReturnType<typeof listRollouts>>>();

export const rolloutDetail = rollout.extend({
  document: storedPolicyDocument,
  diff: policyDiff,
  impact: impactPreview.nullable().meta({
    description:
      "While the rollout is open: its version replayed against the active one over the last 7 days of recorded handshakes (as POST .../policy/impact); null once it is closed.",
  }),
});
same<z.output<typeof rolloutDetail>, RolloutDetail>();

// ---------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------

const auditDecision = z.enum(["accepted", "rejected", "report_only"]);

const auditEvent = z.object({
  id: z.string(),
  ts: isoTime,
  lastTs: nullableTime,
  gatewayId: z.string(),
  kind: z.enum(AUDIT_KINDS),
  via: z.enum(AUDIT_VIAS),
  tenant: z.string().nullable(),
  decision: auditDecision.nullable(),
  reason: z.string().nullable(),
  origin: z.string().nullable(),
  originNormalized: z.string().nullable(),
  remoteAddr: z.string().nullable(),
  userAgent: z.string().nullable(),
  path: z.string().nullable(),
  subprotocol: z.string().nullable(),
  policyVersion: z.number().int().nullable(),
  matchedPattern: z.string().nullable(),
  count: z.number().int(),
  closeCode: z.number().int().nullable(),
  durationMs: z.number().int().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
  shadowDecision: auditDecision.nullable(),
  shadowReason: z.string().nullable(),
  shadowVersion: z.number().int().nullable(),
});
same<z.output<typeof auditEvent>, AuditEvent>();

export const auditPage = z.object({ events: z.array(auditEvent), nextCursor: z.string().nullable() });
same<z.output<typeof auditPage>, AuditPage>();

export const auditStats = z.object({
  window: z.enum(["hour", "day"]),
  bucketSeconds: z.number().int(),
  since: isoTime,
  until: isoTime,
  timeline: z.array(
    z.object({
      bucket: isoTime,
      accepted: z.number().int(),
      rejected: z.number().int(),
      reportOnly: z.number().int(),
    }),
  ),
  topRejected: z.array(
    z.object({
      origin: z.string(),
      tenant: z.string().nullable(),
      count: z.number().int(),
      lastSeen: isoTime,
      reasons: z.array(z.string()),
      allowedBy: z.string().nullable(),
    }),
  ),
});
same<z.output<typeof auditStats>, MarkedAuditStats>();

export const auditFacets = z.object({
  facets: z.record(z.string(), z.array(z.object({ value: z.string().nullable(), count: z.number().int() }))),
  total: z.number().int(),
  scanned: z.number().int(),
  complete: z.boolean(),
});
same<z.output<typeof auditFacets>, AuditFacets>();

export const auditHistogram = z.object({
  since: isoTime,
  until: isoTime,
  bucketSeconds: z.number().int(),
  series: z.array(z.string()),
  buckets: z.array(
    z.object({ bucket: isoTime, counts: z.record(z.string(), z.number().int()), total: z.number().int() }),
  ),
});
same<z.output<typeof auditHistogram>, AuditHistogram>();

export const savedView = z.object({
  id: z.string(),
  name: z.string(),
  query: z.string(),
  createdAt: isoTime,
  updatedAt: isoTime,
});
same<z.output<typeof savedView>, SavedView>();

export const streamToken = z.object({
  token: z.string(),
  url: z.string(),
  protocol: z.string(),
  expiresInSeconds: z.number().int(),
});
same<z.output<typeof streamToken>, StreamToken>();

export const allowedOrigin = z.object({
  pending: rollout.optional().meta({ description: "Approval required: nothing saved yet (202)." }),
  eventId: z.string(),
  tenant: z.string(),
  origin: z.string(),
  version: z.number().int(),
  previousVersion: z.number().int(),
  note: z.string(),
  comment: z.string(),
  warnings: z.array(issue),
});
same<z.output<typeof allowedOrigin>, AllowOriginResult>();

export const shadowSummary = z.object({
  tenant: z.string(),
  version: z.number().int().nullable(),
  since: isoTime,
  origins: z.array(
    z.object({
      origin: z.string(),
      decision: auditDecision,
      reason: z.string().nullable(),
      shadowDecision: auditDecision,
      shadowReason: z.string().nullable(),
      shadowVersion: z.number().int(),
      count: z.number().int(),
      lastSeen: isoTime,
    }),
  ),
  totals: z.object({
    newlyRefused: z.number().int(),
    newlyAllowed: z.number().int(),
    otherwiseDifferent: z.number().int(),
  }),
});
same<z.output<typeof shadowSummary>, ShadowSummary>();

// ---------------------------------------------------------------------------------------
// Tester
// ---------------------------------------------------------------------------------------

const testerTarget = z.object({
  kind: z.enum(["tenant", "endpoint"]),
  tenant: z.string(),
  url: z.string(),
  label: z.string().nullable().optional(),
});

const explainStep = z.object({
  check: z.enum(EXPLAIN_CHECKS),
  outcome: z.enum(["pass", "fail", "skip", "info"]),
  message: z.string(),
});

const header = z.tuple([z.string(), z.string()]);

export const handshakeResult = z.object({
  runId: z.string(),
  target: testerTarget,
  sent: z.array(header),
  status: z.number().int().nullable(),
  statusLine: z.string().nullable(),
  upgraded: z.boolean(),
  headers: z.record(z.string(), z.string()),
  rawHeaders: z.array(header),
  headersTruncated: z.boolean().optional(),
  subprotocol: z.string().nullable(),
  timings: z.object({
    dns: z.number().nullable(),
    connect: z.number().nullable(),
    tls: z.number().nullable(),
    response: z.number().nullable(),
    total: z.number(),
  }),
  body: z.object({ text: z.string(), bytes: z.number().int(), truncated: z.boolean() }).optional(),
  closeCode: z.number().int().optional(),
  closeReason: z.string().optional(),
  framesBeforeClose: z.number().int().optional(),
  tls: z.object({ protocol: z.string().nullable(), cipher: z.string().nullable(), authorized: z.boolean() }).optional(),
  error: z
    .object({
      code: z.enum(HANDSHAKE_ERROR_CODES),
      message: z.string(),
    })
    .optional(),
  reason: z.string().optional(),
  trace: z
    .object({
      decision: z.object({
        allowed: z.boolean(),
        reason: z.string(),
        status: z.number().int(),
        matchedPattern: z.string().nullable(),
        enforced: z.boolean(),
        wouldReject: z.string().optional(),
        normalizedOrigin: z.string().nullable(),
        selectedSubprotocol: z.string().nullable(),
        detail: z.string().optional(),
      }),
      steps: z.array(explainStep),
      closestPattern: z.object({ pattern: z.string(), why: z.string() }).optional(),
    })
    .optional(),
  policyVersion: z.number().int().optional(),
});
same<z.output<typeof handshakeResult>, HandshakeResponse>();

const scanResult = z.object({
  variant: z.string(),
  origin: z.string().nullable(),
  raw: z.boolean().optional(),
  patterns: z.array(z.string()),
  expected: z.enum(["allow", "refuse"]),
  expectedReason: z.string(),
  observed: z.enum(["allowed", "refused", "error"]),
  status: z.number().int().nullable(),
  reason: z.string().optional(),
  closeCode: z.number().int().optional(),
  detail: z.string().optional(),
  finding: z.boolean(),
});

export const scanResponse = z.object({
  runId: z.string(),
  target: testerTarget,
  policyVersion: z.number().int(),
  mode: z.enum(["enforce", "report-only"]),
  results: z.array(scanResult),
  findings: z.array(scanResult),
  summary: z.object({
    variants: z.number().int(),
    allowed: z.number().int(),
    refused: z.number().int(),
    errors: z.number().int(),
    findings: z.number().int(),
    mismatches: z.number().int(),
    rateLimited: z.number().int(),
  }),
  truncated: z.boolean(),
  incomplete: z.boolean(),
  notes: z.array(z.string()),
  durationMs: z.number(),
});
same<z.output<typeof scanResponse>, ScanResponse>();

const corsHeadersSeen = z.object({
  allowOrigin: z.string().nullable(),
  allowCredentials: z.string().nullable(),
  allowMethods: z.string().nullable(),
  allowHeaders: z.string().nullable(),
  exposeHeaders: z.string().nullable(),
  maxAge: z.string().nullable(),
  vary: z.string().nullable(),
});

export const corsTestResponse = z.object({
  runId: z.string(),
  target: testerTarget,
  request: z.object({
    method: z.string(),
    preflight: z.boolean(),
    origin: z.string().nullable(),
    requestHeaders: z.array(z.string()),
  }),
  status: z.number().int().nullable(),
  statusLine: z.string().nullable(),
  headers: z.record(z.string(), z.string()),
  cors: corsHeadersSeen,
  granted: z.boolean(),
  issues: z.array(z.enum(CORS_ISSUES)),
  reason: z.string().optional(),
  timings: z.object({ response: z.number().nullable(), total: z.number() }),
  error: z.object({ code: z.enum(HANDSHAKE_ERROR_CODES), message: z.string() }).optional(),
  trace: z
    .object({
      decision: z.object({
        kind: z.enum(["preflight", "actual"]),
        allowed: z.boolean(),
        reason: z.string(),
        status: z.number().int(),
        enforced: z.boolean(),
        wouldReject: z.string().optional(),
        matchedPattern: z.string().nullable(),
        normalizedOrigin: z.string().nullable(),
        headers: z.record(z.string(), z.string()),
        detail: z.string().optional(),
      }),
      steps: z.array(explainStep),
    })
    .optional(),
  policyVersion: z.number().int().optional(),
});
same<z.output<typeof corsTestResponse>, CorsTestResponse>();

const corsScanResult = z.object({
  variant: z.string(),
  origin: z.string().nullable(),
  raw: z.boolean().optional(),
  patterns: z.array(z.string()),
  probe: z.enum(["request", "preflight"]),
  expected: z.enum(["allow", "refuse"]),
  expectedReason: z.string(),
  observed: z.enum(["granted", "refused", "error"]),
  status: z.number().int().nullable(),
  cors: corsHeadersSeen,
  issues: z.array(z.enum(CORS_ISSUES)),
  detail: z.string().optional(),
  finding: z.boolean(),
});

export const corsScanResponse = z.object({
  runId: z.string(),
  target: testerTarget,
  policyVersion: z.number().int(),
  mode: z.enum(["enforce", "report-only"]),
  results: z.array(corsScanResult),
  findings: z.array(corsScanResult),
  summary: z.object({
    probes: z.number().int(),
    granted: z.number().int(),
    refused: z.number().int(),
    errors: z.number().int(),
    findings: z.number().int(),
    mismatches: z.number().int(),
  }),
  truncated: z.boolean(),
  incomplete: z.boolean(),
  notes: z.array(z.string()),
  durationMs: z.number(),
});
same<z.output<typeof corsScanResponse>, CorsScanResponse>();

// ---------------------------------------------------------------------------------------
// Callers, users and tokens
// ---------------------------------------------------------------------------------------

export const me = z.object({
  kind: z.enum(["user", "token"]),
  label: z.string(),
  role: z.enum(ROLES),
  email: z.string().optional().meta({ description: "Users only." }),
  name: z.string(),
  secondFactorPending: z
    .boolean()
    .optional()
    .meta({ description: "Users only: an admin who must still set up a second factor (REQUIRE_2FA_FOR_ADMINS)." }),
  expiresAt: isoTime.optional().meta({ description: "Tokens only: when the token stops working." }),
  tenant: z.string().nullable().meta({ description: "The one tenant a scoped token may reach; null = every tenant." }),
  permissions: z.array(z.enum(PERMISSIONS)),
});

export const session = z.object({
  id: z.string(),
  createdAt: isoTime,
  updatedAt: isoTime,
  expiresAt: isoTime,
  ipAddress: z.string().nullable(),
  userAgent: z.string().nullable(),
  current: z.boolean(),
});
same<z.output<typeof session>, SessionView>();

export const activityPage = z.object({
  entries: z.array(
    z.object({
      id: z.string(),
      ts: isoTime,
      actor: z.string(),
      actorKind: z.string(),
      action: z.string(),
      target: z.string().nullable(),
      summary: z.string(),
      remoteAddr: z.string().nullable(),
    }),
  ),
  nextCursor: z.string().nullable(),
});
same<z.output<typeof activityPage>, ActivityPage>();

export const user = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  createdAt: isoTime,
});
same<z.output<typeof user>, UserView>();

export const apiToken = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  policyAsCode: z.boolean(),
  prefix: z.string(),
  tenant: z.string().nullable().meta({ description: "The one tenant the token may reach; null = every tenant." }),
  createdAt: isoTime,
  createdBy: z.string().nullable(),
  expiresAt: isoTime,
  lastUsedAt: nullableTime,
  revokedAt: nullableTime,
});
same<z.output<typeof apiToken>, ApiTokenView>();

export const createdApiToken = apiToken.extend({
  token: z.string().meta({ description: "The token itself: shown this once, only its SHA-256 is stored." }),
});

export const siemDestination = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(SIEM_KINDS),
  url: z.string(),
  enabled: z.boolean(),
  hasSecret: z.boolean().meta({ description: "A webhook's signing secret is set (it is never shown again)." }),
  createdAt: isoTime,
  createdBy: z.string().nullable(),
  updatedAt: isoTime,
});
same<z.output<typeof siemDestination>, SiemDestinationView>();

export const savedSiemDestination = z.object({
  destination: siemDestination,
  secret: z
    .string()
    .nullable()
    .meta({ description: "A webhook's new signing secret, shown this once (null for syslog, or when unchanged)." }),
});
same<z.output<typeof savedSiemDestination>, Awaited<ReturnType<typeof createSiemDestination>>>();

export const alertRule = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(ALERT_RULE_KINDS),
  tenant: z.string().nullable().meta({ description: "The tenant's slug; null: every tenant and the whole fleet." }),
  params: z.record(z.string(), z.unknown()).meta({ description: "The kind's thresholds, defaults filled in." }),
  webhookIds: z.array(z.string()).meta({ description: "Webhooks it delivers to; empty: every enabled webhook." }),
  enabled: z.boolean(),
  createdAt: isoTime,
  createdBy: z.string().nullable(),
  updatedAt: isoTime,
});
same<z.output<typeof alertRule>, AlertRuleView>();

export const alertWebhook = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  enabled: z.boolean(),
  createdAt: isoTime,
  createdBy: z.string().nullable(),
  updatedAt: isoTime,
});
same<z.output<typeof alertWebhook>, AlertWebhookView>();

export const createdAlertWebhook = z.object({
  webhook: alertWebhook,
  secret: z.string().meta({ description: "The signing secret (HMAC-SHA256 key), shown this once." }),
});
same<z.output<typeof createdAlertWebhook>, Awaited<ReturnType<typeof createAlertWebhook>>>();

export const updatedAlertWebhook = z.object({
  webhook: alertWebhook,
  secret: z.string().nullable().meta({ description: "A new signing secret when one was asked for, shown this once." }),
});
same<z.output<typeof updatedAlertWebhook>, Awaited<ReturnType<typeof updateAlertWebhook>>>();

export const alertDelivery = z.object({
  id: z.string(),
  webhookId: z.string(),
  webhookName: z.string(),
  alertId: z.string().nullable(),
  event: z.string().meta({ description: "firing, resolved or test." }),
  status: z.enum(["pending", "delivered", "failed"]),
  attempts: z.number(),
  nextAttemptAt: isoTime.nullable(),
  lastAttemptAt: isoTime.nullable(),
  responseStatus: z.number().nullable(),
  error: z.string().nullable(),
  log: z.array(z.object({ at: isoTime, status: z.number().nullable(), error: z.string().nullable() })),
  createdAt: isoTime,
});
same<z.output<typeof alertDelivery>, AlertDeliveryView>();

export const alertDeliveryPage = z.object({ deliveries: z.array(alertDelivery), nextCursor: z.string().nullable() });

export const alert = z.object({
  id: z.string(),
  ruleId: z.string(),
  ruleName: z.string(),
  kind: z.enum(ALERT_RULE_KINDS),
  tenant: z.string().nullable(),
  key: z.string(),
  summary: z.string(),
  details: z.record(z.string(), z.unknown()),
  firedAt: isoTime,
  resolvedAt: isoTime.nullable(),
});
same<z.output<typeof alert>, AlertView>();

export const alertPage = z.object({ alerts: z.array(alert), nextCursor: z.string().nullable() });

/** `GET /api/v1/openapi.json` (validated in full against the OpenAPI 3.1 schema by the tests). */
export const openApiDocument = z.looseObject({ openapi: z.literal("3.1.0"), paths: z.record(z.string(), z.unknown()) });
