/**
 * Every /api/v1 operation, for the OpenAPI document: path and method (spelled as the
 * routes' `// METHOD /path` lines and the e2e permission matrix), the permission the route
 * declares, and its request and response schemas. Request schemas are the very ones the
 * routes parse with (imported, never restated); responses are response-schemas.ts.
 *
 * tests/unit/openapi.test.ts keeps this table true to the routes: every route handler
 * under app/api/v1 has exactly one entry here with the permission it declares, and no
 * entry names a route that does not exist. tests/e2e/openapi.spec.ts calls every operation
 * of a running dashboard and validates what it answers against the generated document.
 */
import "server-only";
import { z } from "zod";
import {
  alertListQuery,
  alertRuleInput,
  alertRulePatch,
  alertsQuery,
  alertWebhookInput,
  alertWebhookPatch,
} from "@/app/_lib/alerts/alert-input";
import {
  activityQuery,
  allowOriginInput,
  gatewaysQuery,
  policySaveQuery,
  revisionListQuery,
  revisionQuery,
  revokeSessionsInput,
  rollbackInput,
} from "@/app/_lib/api/params";
import {
  auditExploreQuery,
  auditExportQuery,
  auditSearchQuery,
  auditStatsQuery,
  savedViewInput,
  shadowSummaryQuery,
} from "@/app/_lib/audit/audit-filter-input";
import { impactInput, usageQuery } from "@/app/_lib/policy/impact-input";
import { canaryRolloutInput, createRolloutInput, rolloutStepInput } from "@/app/_lib/rollouts/rollout-input";
import { siemDestinationInput, siemDestinationPatch } from "@/app/_lib/siem/siem-destination-input";
import { endpointInput } from "@/app/_lib/tester/endpoint-input";
import type { Permission } from "@/server/domain/auth/permissions";
import { createTenantInput, rotateSecretInput, updateTenantInput } from "@/server/domain/tenants/tenant-input";
import { createApiTokenInput } from "@/server/domain/tokens/api-token-input";
import { createUserInput, updateUserInput } from "@/server/domain/users/user-input";
import { policyDocumentSchema } from "@/server/policy/document";
import { corsInputSchema, corsScanInputSchema } from "@/server/tester/cors-input";
import { handshakeInputSchema, scanInputSchema } from "@/server/tester/input";
import * as r from "./response-schemas";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface Operation {
  method: HttpMethod;
  /** `/api/v1/tenants/<slug>`: placeholders in angle brackets, as in the routes' comments. */
  path: string;
  permission: Permission | "authenticated";
  summary: string;
  /** Path placeholders, described. */
  params?: Record<string, string>;
  query?: z.ZodObject;
  /** Request headers other than Authorization. */
  headers?: Array<{ name: string; required: boolean; description: string }>;
  body?: z.ZodType;
  /** The success answer: a JSON schema, another media type, or no body (204). */
  success: { status: number; description: string; schema?: z.ZodType; mediaTypes?: string[] };
  /** A 202 answer besides the success: the change waits for a second person's approval (SPEC §5.2). */
  pending?: { description: string; schema: z.ZodType };
  /** Statuses answered with the error shape, besides 401/403 (every operation has those). */
  errors: number[];
}

const SLUG = { slug: "The tenant's slug." };
const IF_MATCH_REQUIRED = {
  name: "If-Match",
  required: true,
  description: 'The policy version the edit started from ("3"); missing: 428, stale: 409 version_conflict.',
};
const IF_MATCH_OPTIONAL = { ...IF_MATCH_REQUIRED, required: false };

/** The body of a policy PUT: the document (fields left out take their defaults), `version` tolerated. */
const policyPutBody = policyDocumentSchema.extend({
  version: z.number().int().optional().meta({ description: "Tolerated; must equal If-Match." }),
});

export const OPERATIONS: Operation[] = [
  // Tenants
  {
    method: "GET",
    path: "/api/v1/tenants",
    permission: "tenants.read",
    summary: "Every tenant with origin count, mode, version and gateway sync",
    success: { status: 200, description: "The tenants", schema: z.array(r.tenantSummary) },
    errors: [],
  },
  {
    method: "POST",
    path: "/api/v1/tenants",
    permission: "tenants.write",
    summary: "Create a tenant with the restrictive default policy (version 1)",
    body: createTenantInput,
    success: { status: 201, description: "The new tenant", schema: r.tenantDetail },
    errors: [409, 413, 422],
  },
  {
    method: "GET",
    path: "/api/v1/tenants/<slug>",
    permission: "tenants.read",
    summary: "One tenant (never its secret)",
    params: SLUG,
    success: { status: 200, description: "The tenant", schema: r.tenantDetail },
    errors: [404],
  },
  {
    method: "PATCH",
    path: "/api/v1/tenants/<slug>",
    permission: "tenants.write",
    summary: "Rename, set the upstream URL, mark as managed by code or remove the mark",
    params: SLUG,
    body: updateTenantInput,
    success: { status: 200, description: "The tenant after the change", schema: r.tenantDetail },
    errors: [404, 413, 422],
  },
  {
    method: "DELETE",
    path: "/api/v1/tenants/<slug>",
    permission: "tenants.write",
    summary: "Delete the tenant, its policy, allowlist and revisions",
    params: SLUG,
    success: { status: 204, description: "Deleted" },
    errors: [404],
  },
  {
    method: "POST",
    path: "/api/v1/tenants/<slug>/rotate-secret",
    permission: "tenants.rotate_secret",
    summary: "A new token secret, returned this once only",
    params: SLUG,
    body: rotateSecretInput,
    success: { status: 200, description: "The new secret", schema: r.rotatedSecret },
    errors: [404, 413, 422],
  },
  // Policies
  {
    method: "GET",
    path: "/api/v1/tenants/<slug>/policy",
    permission: "policy.read",
    summary: 'The policy document with its version (ETag: "<version>")',
    params: SLUG,
    success: { status: 200, description: "The policy", schema: r.versionedPolicy },
    errors: [404],
  },
  {
    method: "PUT",
    path: "/api/v1/tenants/<slug>/policy",
    permission: "policy.write",
    summary:
      "Save a new version (If-Match required). The same document again writes nothing (changed: false). A tenant managed by code: 409 managed_by_code, except for a policy-as-code token (this is the one write it may make there)",
    params: SLUG,
    query: policySaveQuery,
    headers: [IF_MATCH_REQUIRED],
    body: policyPutBody,
    success: { status: 200, description: "Saved (or unchanged)", schema: r.savedPolicy },
    pending: { description: "Waits for a second person's approval: the pending rollout", schema: r.createdRollout },
    errors: [400, 404, 409, 413, 422, 428],
  },
  {
    method: "POST",
    path: "/api/v1/tenants/<slug>/policy/impact",
    permission: "policy.read",
    summary:
      "Impact preview: the window's recorded handshakes replayed against a draft and the active version (writes nothing)",
    params: SLUG,
    body: impactInput,
    success: { status: 200, description: "What the draft would newly refuse and newly admit", schema: r.impactPreview },
    errors: [400, 404, 413, 422],
  },
  {
    method: "GET",
    path: "/api/v1/tenants/<slug>/policy/usage",
    permission: "policy.read",
    summary: "Each allowlist entry's matches in the last `days` days and its last match; unused entries flagged",
    params: SLUG,
    query: usageQuery,
    success: { status: 200, description: "Usage per entry", schema: r.entryUsage },
    errors: [404, 422],
  },
  {
    method: "GET",
    path: "/api/v1/tenants/<slug>/revisions",
    permission: "policy.read",
    summary: "Revisions, newest first",
    params: SLUG,
    query: revisionListQuery,
    success: { status: 200, description: "A page of revisions", schema: r.revisionList },
    errors: [404, 422],
  },
  {
    method: "GET",
    path: "/api/v1/tenants/<slug>/revisions/<version>",
    permission: "policy.read",
    summary: "One revision with its diff against the previous one (or ?against=)",
    params: { ...SLUG, version: "The revision's version." },
    query: revisionQuery,
    success: { status: 200, description: "The revision", schema: r.revisionDetail },
    errors: [404, 422],
  },
  {
    method: "POST",
    path: "/api/v1/tenants/<slug>/revisions/<version>/rollback",
    permission: "policy.write",
    summary: "A new revision restoring <version> (changed: false when the policy already equals it)",
    params: { ...SLUG, version: "The revision to restore." },
    headers: [IF_MATCH_OPTIONAL],
    body: rollbackInput,
    success: { status: 200, description: "Rolled back (or unchanged)", schema: r.savedPolicy },
    pending: { description: "Waits for a second person's approval: the pending rollout", schema: r.createdRollout },
    errors: [400, 404, 409, 413, 422],
  },
  // Rollouts (staged versions, approvals)
  {
    method: "GET",
    path: "/api/v1/tenants/<slug>/rollouts",
    permission: "policy.read",
    summary:
      "The tenant's rollouts, newest first, with their steps (who/when/comment), and whether it requires approval",
    params: SLUG,
    success: { status: 200, description: "The rollouts", schema: r.rolloutList },
    errors: [404],
  },
  {
    method: "POST",
    path: "/api/v1/tenants/<slug>/rollouts",
    permission: "policy.write",
    summary:
      "Publish a document or an earlier version as shadow or canary under the next version number. A tenant that requires approval: a canary answers 202 in pending_approval. Another rollout open: 409 rollout_in_progress",
    params: SLUG,
    body: createRolloutInput,
    success: { status: 201, description: "The rollout", schema: r.createdRollout },
    pending: { description: "A canary that waits for a second person's approval", schema: r.createdRollout },
    errors: [400, 404, 409, 413, 422],
  },
  {
    method: "GET",
    path: "/api/v1/tenants/<slug>/rollouts/<id>",
    permission: "policy.read",
    summary:
      "One rollout with its document, its diff against the version it was opened from, its steps and, while it is open, its impact preview against the active version",
    params: { ...SLUG, id: "The rollout's id." },
    success: { status: 200, description: "The rollout", schema: r.rolloutDetail },
    errors: [404],
  },
  {
    method: "POST",
    path: "/api/v1/tenants/<slug>/rollouts/<id>/canary",
    permission: "policy.write",
    summary:
      "Move an open shadow to canary, keeping its version: enforced by gateways carrying one of the labels (GATEWAY_LABELS) and/or for a stable percentage of client addresses; `guard` sets the guard (null removes it, absent keeps it). Approval required and not given yet: 202, the rollout waits in pending_approval. Not a shadow: 409 rollout_not_open",
    params: { ...SLUG, id: "The rollout's id." },
    body: canaryRolloutInput,
    success: { status: 200, description: "The rollout, now a canary", schema: r.rollout },
    pending: { description: "The move to canary waits for a second person's approval", schema: r.rollout },
    errors: [400, 404, 409, 413, 422],
  },
  {
    method: "POST",
    path: "/api/v1/tenants/<slug>/rollouts/<id>/promote",
    permission: "policy.write",
    summary:
      "Make the staged version active at every gateway. Approval required and not given yet: 202, the rollout waits in pending_approval",
    params: { ...SLUG, id: "The rollout's id." },
    body: rolloutStepInput,
    success: { status: 200, description: "The rollout", schema: r.rollout },
    pending: { description: "The promotion waits for a second person's approval", schema: r.rollout },
    errors: [400, 404, 409, 413, 422],
  },
  {
    method: "POST",
    path: "/api/v1/tenants/<slug>/rollouts/<id>/abort",
    permission: "policy.write",
    summary: "End an open rollout: nothing of the staged version stays enforced",
    params: { ...SLUG, id: "The rollout's id." },
    body: rolloutStepInput,
    success: { status: 200, description: "The rollout", schema: r.rollout },
    errors: [400, 404, 409, 413, 422],
  },
  {
    method: "POST",
    path: "/api/v1/tenants/<slug>/rollouts/<id>/approve",
    permission: "policy.write",
    summary:
      "Approve a pending change (a second person: its author or requester gets 403 self_approval); it goes on to canary or active",
    params: { ...SLUG, id: "The rollout's id." },
    body: rolloutStepInput,
    success: { status: 200, description: "The rollout", schema: r.rollout },
    errors: [400, 404, 409, 413, 422],
  },
  {
    method: "POST",
    path: "/api/v1/tenants/<slug>/rollouts/<id>/reject",
    permission: "policy.write",
    summary: "Reject a pending change",
    params: { ...SLUG, id: "The rollout's id." },
    body: rolloutStepInput,
    success: { status: 200, description: "The rollout", schema: r.rollout },
    errors: [400, 404, 409, 413, 422],
  },
  // Tester endpoints
  {
    method: "GET",
    path: "/api/v1/tenants/<slug>/endpoints",
    permission: "tenants.read",
    summary: "The tester endpoints registered for the tenant",
    params: SLUG,
    success: { status: 200, description: "The endpoints", schema: z.array(r.testerEndpoint) },
    errors: [404],
  },
  {
    method: "POST",
    path: "/api/v1/tenants/<slug>/endpoints",
    permission: "tester.endpoints.write",
    summary: "Register a ws:// or wss:// URL as a tester target",
    params: SLUG,
    body: endpointInput,
    success: { status: 201, description: "The registered endpoint", schema: r.testerEndpoint },
    errors: [404, 409, 413, 422],
  },
  {
    method: "DELETE",
    path: "/api/v1/tenants/<slug>/endpoints/<id>",
    permission: "tester.endpoints.write",
    summary: "Remove a tester endpoint",
    params: { ...SLUG, id: "The endpoint's id." },
    success: { status: 204, description: "Removed" },
    errors: [404],
  },
  // Gateways
  {
    method: "GET",
    path: "/api/v1/gateways",
    permission: "gateways.read",
    summary: "Live gateway instances and the version each enforces per tenant",
    query: gatewaysQuery,
    success: { status: 200, description: "The gateways", schema: z.array(r.gateway) },
    errors: [],
  },
  {
    method: "GET",
    path: "/api/v1/fleet",
    permission: "gateways.read",
    summary: "The Gateways page's view: instances, latest versions, drift",
    success: { status: 200, description: "The fleet", schema: r.fleet },
    errors: [],
  },
  // Audit
  {
    method: "GET",
    path: "/api/v1/audit",
    permission: "audit.read",
    summary: "Audit history, newest first, keyset pages",
    query: auditSearchQuery,
    success: { status: 200, description: "A page of events", schema: r.auditPage },
    errors: [422],
  },
  {
    method: "GET",
    path: "/api/v1/audit/export",
    permission: "audit.read",
    summary: "The filtered history as a CSV or NDJSON download (at most 100,000 rows per file)",
    query: auditExportQuery,
    success: {
      status: 200,
      description: "The file, streamed",
      mediaTypes: ["text/csv; charset=utf-8", "application/x-ndjson; charset=utf-8"],
    },
    errors: [422],
  },
  {
    method: "GET",
    path: "/api/v1/audit/stats",
    permission: "audit.read",
    summary: "Accepted vs rejected per bucket, and the most refused origins",
    query: auditStatsQuery,
    success: { status: 200, description: "The statistics", schema: r.auditStats },
    errors: [422],
  },
  {
    method: "GET",
    path: "/api/v1/audit/facets",
    permission: "audit.read",
    summary: "Value counts of each filterable field over the history's filters (a field's own filter left out)",
    query: auditExploreQuery,
    success: { status: 200, description: "The counts", schema: r.auditFacets },
    errors: [422],
  },
  {
    method: "GET",
    path: "/api/v1/audit/histogram",
    permission: "audit.read",
    summary: "Events per time bucket over the history's filters and window, split by reason",
    query: auditExploreQuery,
    success: { status: 200, description: "The buckets", schema: r.auditHistogram },
    errors: [422],
  },
  {
    method: "GET",
    path: "/api/v1/audit/views",
    permission: "audit.read",
    summary: "The signed-in user's saved audit views (API tokens: 403)",
    success: { status: 200, description: "The views", schema: z.array(r.savedView) },
    errors: [],
  },
  {
    method: "POST",
    path: "/api/v1/audit/views",
    permission: "audit.read",
    summary: "Save an /audit query under a name (replaces the user's view of that name; API tokens: 403)",
    body: savedViewInput,
    success: { status: 201, description: "Saved (200 when it replaced a view of that name)", schema: r.savedView },
    errors: [400, 409, 413, 422],
  },
  {
    method: "DELETE",
    path: "/api/v1/audit/views/<id>",
    permission: "audit.read",
    summary: "Delete one of the signed-in user's saved audit views",
    params: { id: "The view's id." },
    success: { status: 204, description: "Deleted" },
    errors: [404],
  },
  {
    method: "GET",
    path: "/api/v1/audit/shadow",
    permission: "audit.read",
    summary: "Shadow versus active per origin: where a staged version decided differently, with counts",
    query: shadowSummaryQuery,
    success: { status: 200, description: "The summary", schema: r.shadowSummary },
    errors: [422],
  },
  {
    method: "POST",
    path: "/api/v1/audit/stream-token",
    permission: "audit.read",
    summary: "A 60-second token and the gateway URL for the live feed",
    success: { status: 200, description: "The token", schema: r.streamToken },
    errors: [],
  },
  {
    method: "POST",
    path: "/api/v1/audit/<id>/allow",
    permission: "policy.write",
    summary: "Add a refused event's exact origin to its tenant's allowlist",
    params: { id: "The audit event's id." },
    headers: [IF_MATCH_OPTIONAL],
    body: allowOriginInput,
    success: { status: 200, description: "Saved as a new revision", schema: r.allowedOrigin },
    pending: { description: "Waits for a second person's approval (the tenant requires it)", schema: r.allowedOrigin },
    errors: [400, 404, 409, 413, 422],
  },
  // Tester
  {
    method: "POST",
    path: "/api/v1/tester/handshake",
    permission: "tester.run",
    summary: "A real handshake from the gateway with any Origin and credentials",
    body: handshakeInputSchema,
    success: { status: 200, description: "What the target answered", schema: r.handshakeResult },
    errors: [400, 404, 413, 422, 429, 502, 503, 504],
  },
  {
    method: "POST",
    path: "/api/v1/tester/scan",
    permission: "tester.run",
    summary: "Every bypass variant of a tenant's allowlist against a target",
    body: scanInputSchema,
    success: { status: 200, description: "The matrix", schema: r.scanResponse },
    errors: [400, 404, 413, 422, 429, 502, 503, 504],
  },
  {
    method: "POST",
    path: "/api/v1/tester/cors",
    permission: "tester.run",
    summary: "A real HTTP request (or its CORS preflight) from the gateway with any Origin, and what it grants",
    body: corsInputSchema,
    success: { status: 200, description: "The answer, its CORS headers and findings", schema: r.corsTestResponse },
    errors: [400, 404, 413, 422, 429, 502, 503, 504],
  },
  {
    method: "POST",
    path: "/api/v1/tester/cors-scan",
    permission: "tester.run",
    summary: "The CORS scan of a target: reflected origins, null or * with credentials, missing Vary, lookalikes",
    body: corsScanInputSchema,
    success: { status: 200, description: "The probes and findings", schema: r.corsScanResponse },
    errors: [400, 404, 413, 422, 429, 502, 503, 504],
  },
  // SIEM export
  {
    method: "GET",
    path: "/api/v1/siem-destinations",
    permission: "siem.manage",
    summary: "The SIEM destinations every gateway streams audit events to (never a secret)",
    success: { status: 200, description: "The destinations", schema: z.array(r.siemDestination) },
    errors: [],
  },
  {
    method: "POST",
    path: "/api/v1/siem-destinations",
    permission: "siem.manage",
    summary:
      "Register a syslog (tcp://host:port) or webhook (http(s)) destination; a host name must resolve to public addresses",
    body: siemDestinationInput,
    success: {
      status: 201,
      description: "The destination, and a webhook's secret shown once",
      schema: r.savedSiemDestination,
    },
    errors: [409, 413, 422],
  },
  {
    method: "PATCH",
    path: "/api/v1/siem-destinations/<id>",
    permission: "siem.manage",
    summary: "Rename, move, enable or disable a destination, or give a webhook a new secret (shown once)",
    params: { id: "The destination's id." },
    body: siemDestinationPatch,
    success: {
      status: 200,
      description: "The destination, and a new secret when one was asked for",
      schema: r.savedSiemDestination,
    },
    errors: [404, 409, 413, 422],
  },
  {
    method: "DELETE",
    path: "/api/v1/siem-destinations/<id>",
    permission: "siem.manage",
    summary: "Stop exporting to a destination",
    params: { id: "The destination's id." },
    success: { status: 204, description: "Removed" },
    errors: [404],
  },
  // Alerts
  {
    method: "GET",
    path: "/api/v1/alert-rules",
    permission: "alerts.manage",
    summary: "The alert rules",
    success: { status: 200, description: "The rules", schema: z.array(r.alertRule) },
    errors: [],
  },
  {
    method: "POST",
    path: "/api/v1/alert-rules",
    permission: "alerts.manage",
    summary:
      "Add a rule: rejection_spike, new_rejected_origin, gateway_stale, audit_unhealthy, tester_finding or rollout_guard_tripped, for one tenant or all",
    body: alertRuleInput,
    success: { status: 201, description: "The rule, its parameters with defaults", schema: r.alertRule },
    errors: [409, 413, 422],
  },
  {
    method: "PATCH",
    path: "/api/v1/alert-rules/<id>",
    permission: "alerts.manage",
    summary: "Rename a rule, change its tenant, parameters or webhooks, enable or disable it",
    params: { id: "The rule's id." },
    body: alertRulePatch,
    success: { status: 200, description: "The rule", schema: r.alertRule },
    errors: [404, 409, 413, 422],
  },
  {
    method: "DELETE",
    path: "/api/v1/alert-rules/<id>",
    permission: "alerts.manage",
    summary: "Remove a rule (its open alerts close without a message)",
    params: { id: "The rule's id." },
    success: { status: 204, description: "Removed" },
    errors: [404],
  },
  {
    method: "GET",
    path: "/api/v1/alert-webhooks",
    permission: "alerts.manage",
    summary: "Where alerts are delivered (never a secret)",
    success: { status: 200, description: "The webhooks", schema: z.array(r.alertWebhook) },
    errors: [],
  },
  {
    method: "POST",
    path: "/api/v1/alert-webhooks",
    permission: "alerts.manage",
    summary:
      "Register an http(s) webhook; a host name must resolve to public addresses (an internal one only as a literal)",
    body: alertWebhookInput,
    success: {
      status: 201,
      description: "The webhook, and its signing secret shown once",
      schema: r.createdAlertWebhook,
    },
    errors: [409, 413, 422],
  },
  {
    method: "PATCH",
    path: "/api/v1/alert-webhooks/<id>",
    permission: "alerts.manage",
    summary: "Rename, move, enable or disable a webhook, or give it a new signing secret (shown once)",
    params: { id: "The webhook's id." },
    body: alertWebhookPatch,
    success: {
      status: 200,
      description: "The webhook, and a new secret when asked for",
      schema: r.updatedAlertWebhook,
    },
    errors: [404, 409, 413, 422],
  },
  {
    method: "DELETE",
    path: "/api/v1/alert-webhooks/<id>",
    permission: "alerts.manage",
    summary: "Remove a webhook, its delivery log, and its place in every rule",
    params: { id: "The webhook's id." },
    success: { status: 204, description: "Removed" },
    errors: [404],
  },
  {
    method: "POST",
    path: "/api/v1/alert-webhooks/<id>/test",
    permission: "alerts.manage",
    summary: "Send a signed test message now (retried like any delivery when it fails)",
    params: { id: "The webhook's id." },
    success: { status: 200, description: "The delivery, with its first attempt", schema: r.alertDelivery },
    errors: [404],
  },
  {
    method: "GET",
    path: "/api/v1/alert-deliveries",
    permission: "alerts.manage",
    summary: "The delivery log: every message to every webhook with its attempts, newest first, keyset pages",
    query: alertListQuery,
    success: { status: 200, description: "A page of deliveries", schema: r.alertDeliveryPage },
    errors: [422],
  },
  {
    method: "GET",
    path: "/api/v1/alerts",
    permission: "alerts.manage",
    summary: "Raised alerts, open and resolved, newest first, keyset pages",
    query: alertsQuery,
    success: { status: 200, description: "A page of alerts", schema: r.alertPage },
    errors: [422],
  },
  // Callers, tokens, users
  {
    method: "GET",
    path: "/api/v1/me",
    permission: "authenticated",
    summary: "Who is calling: user or token, role and permissions",
    success: { status: 200, description: "The caller", schema: r.me },
    errors: [],
  },
  {
    method: "GET",
    path: "/api/v1/me/sessions",
    permission: "authenticated",
    summary: "The signed-in user's sessions (never a session token); API tokens: 403",
    success: { status: 200, description: "The sessions", schema: z.object({ sessions: z.array(r.session) }) },
    errors: [],
  },
  {
    method: "DELETE",
    path: "/api/v1/me/sessions/<id>",
    permission: "authenticated",
    summary: "End one of the signed-in user's sessions",
    params: { id: "The session's id (from GET /api/v1/me/sessions)." },
    success: { status: 204, description: "Ended" },
    errors: [404],
  },
  {
    method: "POST",
    path: "/api/v1/me/sessions/revoke-all",
    permission: "authenticated",
    summary: "Sign out everywhere (keepCurrent: every session but this one)",
    body: revokeSessionsInput,
    success: {
      status: 200,
      description: "How many sessions ended",
      schema: z.object({ revoked: z.number().int() }),
    },
    errors: [413, 422],
  },
  {
    method: "GET",
    path: "/api/v1/activity",
    permission: "activity.read",
    summary: "The admin activity log, newest first (keyset pages)",
    query: activityQuery,
    success: { status: 200, description: "One page", schema: r.activityPage },
    errors: [422],
  },
  {
    method: "GET",
    path: "/api/v1/tokens",
    permission: "tokens.manage",
    summary: "API tokens (never the token)",
    success: { status: 200, description: "The tokens", schema: z.array(r.apiToken) },
    errors: [],
  },
  {
    method: "POST",
    path: "/api/v1/tokens",
    permission: "tokens.manage",
    summary: "Create an API token (policyAsCode: may apply tenants managed by code)",
    body: createApiTokenInput,
    success: { status: 201, description: "The token, shown this once", schema: r.createdApiToken },
    errors: [413, 422],
  },
  {
    method: "DELETE",
    path: "/api/v1/tokens/<id>",
    permission: "tokens.manage",
    summary: "Revoke an API token",
    params: { id: "The token's id." },
    success: { status: 204, description: "Revoked" },
    errors: [404],
  },
  {
    method: "GET",
    path: "/api/v1/users",
    permission: "users.manage",
    summary: "Every user with their role",
    success: { status: 200, description: "The users", schema: z.array(r.user) },
    errors: [],
  },
  {
    method: "POST",
    path: "/api/v1/users",
    permission: "users.manage",
    summary: "Create a user",
    body: createUserInput,
    success: { status: 201, description: "The user", schema: r.user },
    errors: [409, 413, 422],
  },
  {
    method: "PATCH",
    path: "/api/v1/users/<id>",
    permission: "users.manage",
    summary: "Change a user's role (never the last admin's)",
    params: { id: "The user's id." },
    body: updateUserInput,
    success: { status: 204, description: "Changed" },
    errors: [404, 409, 413, 422],
  },
  {
    method: "DELETE",
    path: "/api/v1/users/<id>",
    permission: "users.manage",
    summary: "Remove a user and their sessions (not yourself, not the last admin)",
    params: { id: "The user's id." },
    success: { status: 204, description: "Removed" },
    errors: [404, 409],
  },
  {
    method: "GET",
    path: "/api/v1/openapi.json",
    permission: "authenticated",
    summary: "This document",
    success: { status: 200, description: "The OpenAPI 3.1 description of /api/v1", schema: r.openApiDocument },
    errors: [],
  },
];
