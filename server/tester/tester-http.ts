/**
 * The gateway's tester endpoints (JSON in, JSON out), called by the dashboard's server:
 *   POST /admin/tester/handshake   body: server/tester/input.ts handshakeInputSchema
 *   POST /admin/tester/scan        body: scanInputSchema
 *   POST /admin/tester/cors        body: server/tester/cors-input.ts corsInputSchema
 *   POST /admin/tester/cors-scan   body: corsScanInputSchema
 *
 * Authentication: `Authorization: Bearer <admin token>` minted by the dashboard with scope
 * "tester" (server/admin/admin-token.ts), and a role that may run the tester (editor or
 * admin — checked here too, not only by the dashboard).
 *
 * Every run — and every refused target (an attempt to reach something that is not a
 * registered endpoint) — is one `kind: "tester"` audit event: who (token name/sub/role),
 * the target (query values hidden), the Origin tested, whether Cookie, Authorization or a
 * token were present (never their values), extra header names (never their values), and
 * an outcome summary. The handshakes a run makes against this gateway are audited as
 * ordinary handshakes as well (they are real ones); their User-Agent carries the run id.
 *
 * Concurrency: at most MAX_SCANS scans and MAX_HANDSHAKES single runs at a time per
 * gateway (429 beyond), so the tester cannot be turned into a load generator.
 */
import { randomUUID } from "node:crypto";
import type http from "node:http";
import type { AddressInfo } from "node:net";
import type pg from "pg";
import { ZodError } from "zod";
import { type AdminClaims, verifyAdminToken } from "../admin/admin-token";
import type { AuditSink } from "../audit/types";
import { clip } from "../clip";
import type { Logger } from "../log";
import { parseOrigin } from "../policy/parse-origin";
import type { PolicyStore } from "../policy-store/policy-store";
import { corsInputSchema, corsScanInputSchema } from "./cors-input";
import { scanCors, testCors } from "./cors-tester";
import { TesterError } from "./errors";
import { handshakeInputSchema, scanInputSchema } from "./input";
import { checkHeadersForTarget, type ResolvedTarget, resolveTarget } from "./targets";
import { scanTarget, testHandshake } from "./tester";
import type { CorsScanResponse, CorsTestResponse, HandshakeResponse, ScanResponse } from "./types";

const MAX_BODY_BYTES = 64 * 1024;
const MAX_SCANS = 2;
const MAX_HANDSHAKES = 16;
const running = new WeakMap<TesterDeps, { scans: number; handshakes: number }>();

export const TESTER_PATH_PREFIX = "/admin/tester/";

/**
 * What the tester needs of its gateway, and nothing more: the live policies (targets on
 * this gateway), the audit trail, a logger, the key of dashboard-minted admin tokens and
 * a pool for registered-endpoint lookups. The gateway passes its context, which fits.
 */
export interface TesterDeps {
  store: PolicyStore;
  audit: AuditSink;
  logger: Logger;
  pool: pg.Pool;
  /** HMAC key of admin tokens; null until loaded (then every call is refused). */
  adminKey: string | null;
}
/** The runs, by the last segment of their path. */
const RUNS = ["handshake", "scan", "cors", "cors-scan"] as const;
type Run = (typeof RUNS)[number];

export async function handleTesterHttp(
  ctx: TesterDeps,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  address: AddressInfo,
): Promise<void> {
  try {
    const path = (req.url ?? "/").split("?")[0] ?? "";
    const run = RUNS.find((name) => path === `${TESTER_PATH_PREFIX}${name}`) ?? null;
    if (!run)
      throw new TesterError(
        "not_found",
        "no such tester endpoint (POST /admin/tester/handshake, /scan, /cors or /cors-scan)",
      );
    if (req.method !== "POST") {
      res.setHeader("Allow", "POST");
      throw new TesterError("method_not_allowed", "use POST");
    }
    const claims = authenticate(ctx, req);
    const body = await readJsonBody(req);
    if (!ctx.store.ready) throw new TesterError("unavailable", "policies are not loaded yet; retry in a moment");
    const counters = running.get(ctx) ?? { scans: 0, handshakes: 0 };
    running.set(ctx, counters);
    const runId = randomUUID();
    /**
     * One run in its concurrency slot (counted before the first await, so concurrent
     * requests cannot all slip past the check): resolve the target (audited), refuse
     * forwarding headers against this gateway, run, audit the result, answer it.
     */
    const serve = async <
      I extends { tenant?: string; url?: string; path?: string; headers?: Record<string, string> },
      R,
    >(
      slot: "handshakes" | "scans",
      input: I,
      origin: string | null | undefined,
      execute: (target: ResolvedTarget, input: I, options: { runId: string }) => Promise<R>,
      audit: (ctx: TesterDeps, req: http.IncomingMessage, claims: AdminClaims, t: ResolvedTarget, i: I, r: R) => void,
    ): Promise<void> => {
      if (slot === "scans" && counters.scans >= MAX_SCANS)
        throw new TesterError("too_many_runs", "a scan is already running on this gateway; retry when it is done");
      if (slot === "handshakes" && counters.handshakes >= MAX_HANDSHAKES)
        throw new TesterError("too_many_runs", "too many tester runs at once; retry");
      counters[slot] += 1;
      try {
        const target = await resolveAudited(ctx, req, address, claims, runId, run, input, origin);
        checkHeadersForTarget(target, input.headers);
        const result = await execute(target, input, { runId });
        audit(ctx, req, claims, target, input, result);
        return sendJson(res, 200, result);
      } finally {
        counters[slot] -= 1;
      }
    };
    switch (run) {
      case "cors": {
        const input = corsInputSchema.parse(body);
        return await serve("handshakes", input, input.origin, testCors, auditCors);
      }
      case "cors-scan":
        return await serve("scans", corsScanInputSchema.parse(body), undefined, scanCors, auditCorsScan);
      case "handshake": {
        const input = handshakeInputSchema.parse(body);
        return await serve("handshakes", input, input.origin, testHandshake, auditHandshake);
      }
      case "scan":
        return await serve("scans", scanInputSchema.parse(body), undefined, scanTarget, auditScan);
    }
  } catch (error) {
    if (error instanceof TesterError) return sendJson(res, error.status, error.toBody());
    if (error instanceof ZodError) {
      const details = error.issues.map((issue) => ({ path: issue.path.map(String).join("."), message: issue.message }));
      return sendJson(res, 422, { error: { code: "validation_failed", message: "The request is invalid", details } });
    }
    ctx.logger.error({ err: (error as Error).message }, "tester run failed");
    return sendJson(res, 500, {
      error: { code: "internal", message: "the tester failed; the gateway log has the details" },
    });
  }
}

function authenticate(ctx: TesterDeps, req: http.IncomingMessage): AdminClaims {
  const key = ctx.adminKey;
  if (!key) throw new TesterError("unavailable", "the admin key is not loaded yet; retry in a moment");
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  if (!match?.[1]) throw new TesterError("unauthorized", "send Authorization: Bearer <admin token with scope tester>");
  const verified = verifyAdminToken(match[1], key, "tester");
  if (!verified.ok) throw new TesterError("unauthorized", `admin token refused: ${verified.message}`);
  if (verified.claims.role === "viewer") {
    throw new TesterError("forbidden", "running the tester needs the editor or admin role");
  }
  return verified.claims;
}

async function readJsonBody(req: http.IncomingMessage): Promise<unknown> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json")
    throw new TesterError("unsupported_media_type", "send Content-Type: application/json");
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_BODY_BYTES)
    throw new TesterError("payload_too_large", `the body is larger than ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new TesterError("payload_too_large", `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    throw new TesterError("bad_request", "the body is not valid JSON");
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
    ...(status === 401 ? { "WWW-Authenticate": 'Bearer realm="origingate-admin"' } : {}),
  });
  res.end(text);
}

/** Refusals of a target that are audited: someone tried to reach something they may not. */
const REFUSED_TARGET_CODES: ReadonlySet<string> = new Set([
  "target_not_registered",
  "target_address_refused",
  "tenant_unknown",
]);

/** Resolves the target; a refused target is itself an audit event (someone tried to reach it). */
async function resolveAudited(
  ctx: TesterDeps,
  req: http.IncomingMessage,
  address: AddressInfo,
  claims: AdminClaims,
  runId: string,
  run: Run,
  input: { tenant?: string; url?: string; path?: string },
  origin: string | null | undefined,
): Promise<ResolvedTarget> {
  try {
    if (claims.tenant !== undefined && input.tenant !== claims.tenant) {
      throw new TesterError("forbidden", `this token is limited to tenant ${claims.tenant}: name it as the tenant`);
    }
    const target = await resolveTarget({ pool: ctx.pool, store: ctx.store, address }, input);
    if (claims.tenant !== undefined && target.tenant !== claims.tenant) {
      throw new TesterError("forbidden", `this token is limited to tenant ${claims.tenant}`);
    }
    return target;
  } catch (error) {
    if (error instanceof TesterError && REFUSED_TARGET_CODES.has(error.code)) {
      ctx.audit.record({
        ...auditBase(req, claims),
        tenant: clip(input.tenant ?? null, 100),
        decision: "rejected",
        reason: "tester_target_refused",
        origin: clip(origin ?? null),
        originNormalized: null,
        path: null,
        policyVersion: null,
        matchedPattern: null,
        details: {
          run,
          runId,
          by: by(claims),
          target: { url: input.url === undefined ? null : clip(redactQuery(input.url)), tenant: input.tenant ?? null },
          refused: { code: error.code, message: error.message },
        },
      });
      ctx.logger.warn({ run, runId, by: claims.name, tenant: input.tenant, code: error.code }, "tester target refused");
    }
    throw error;
  }
}

function auditBase(req: http.IncomingMessage, claims: AdminClaims) {
  return {
    ts: Date.now(),
    kind: "tester" as const,
    remoteAddr: req.socket.remoteAddress ?? null,
    userAgent: clip(`admin:${claims.name}`, 256),
    subprotocol: null,
  };
}

function by(claims: AdminClaims) {
  return { sub: claims.sub, name: claims.name, role: claims.role };
}

/** What was sent, without values that could be secrets. */
function requestSummary(input: {
  cookie?: string;
  authorization?: string;
  token?: string;
  subprotocols?: string[];
  headers?: Record<string, string>;
}) {
  return {
    hasCookie: input.cookie !== undefined,
    hasAuthorization: input.authorization !== undefined,
    hasToken: input.token !== undefined || (input.subprotocols ?? []).some((p) => p.startsWith("bearer.")),
    subprotocols: (input.subprotocols ?? []).filter((p) => !p.startsWith("bearer.")).map((p) => clip(p, 64)),
    headerNames: Object.keys(input.headers ?? {}),
  };
}

function targetPath(target: ResolvedTarget): string | null {
  try {
    return clip(new URL(target.url).pathname, 256);
  } catch {
    return null;
  }
}

function auditHandshake(
  ctx: TesterDeps,
  req: http.IncomingMessage,
  claims: AdminClaims,
  target: ResolvedTarget,
  input: { origin?: string | null } & Parameters<typeof requestSummary>[0],
  result: HandshakeResponse,
): void {
  const origin = input.origin ?? null;
  const parsed = parseOrigin(origin);
  ctx.audit.record({
    ...auditBase(req, claims),
    tenant: target.tenant,
    decision: "accepted",
    reason: "tester_handshake",
    origin: clip(origin),
    originNormalized: parsed.kind === "origin" ? parsed.origin : parsed.kind === "null" ? "null" : null,
    path: targetPath(target),
    policyVersion: result.policyVersion ?? null,
    matchedPattern: result.trace?.decision.matchedPattern ?? null,
    closeCode: result.closeCode ?? null,
    durationMs: Math.round(result.timings.total),
    details: {
      run: "handshake",
      runId: result.runId,
      by: by(claims),
      target: result.target,
      request: { origin: origin === null ? "(none)" : clip(origin), ...requestSummary(input) },
      outcome: {
        status: result.status,
        upgraded: result.upgraded,
        reason: result.reason ?? null,
        closeCode: result.closeCode ?? null,
        error: result.error?.code ?? null,
        expected: result.trace ? (result.trace.decision.allowed ? "allow" : "refuse") : null,
      },
    },
  });
  ctx.logger.info(
    {
      run: "handshake",
      runId: result.runId,
      by: claims.name,
      tenant: target.tenant,
      target: result.target.url,
      status: result.status,
    },
    "tester run",
  );
}

function auditScan(
  ctx: TesterDeps,
  req: http.IncomingMessage,
  claims: AdminClaims,
  target: ResolvedTarget,
  input: Parameters<typeof requestSummary>[0],
  result: ScanResponse,
): void {
  ctx.audit.record({
    ...auditBase(req, claims),
    tenant: target.tenant,
    decision: "accepted",
    reason: "tester_scan",
    origin: null,
    originNormalized: null,
    path: targetPath(target),
    policyVersion: result.policyVersion,
    matchedPattern: null,
    durationMs: result.durationMs,
    details: {
      run: "scan",
      runId: result.runId,
      by: by(claims),
      target: result.target,
      request: requestSummary(input),
      outcome: {
        ...result.summary,
        truncated: result.truncated,
        incomplete: result.incomplete,
        // Bounded: enough to see what slipped through without loading the whole matrix.
        findingOrigins: result.findings.slice(0, 50).map((f) => clip(f.origin ?? "(none)", 256)),
      },
    },
  });
  ctx.logger.info(
    {
      run: "scan",
      runId: result.runId,
      by: claims.name,
      tenant: target.tenant,
      target: result.target.url,
      findings: result.findings.length,
    },
    "tester run",
  );
}

function redactQuery(url: string): string {
  const q = url.indexOf("?");
  return q === -1 ? url : `${url.slice(0, q)}?…`;
}

function auditCors(
  ctx: TesterDeps,
  req: http.IncomingMessage,
  claims: AdminClaims,
  target: ResolvedTarget,
  input: { origin?: string | null; method: string; preflight: boolean } & Parameters<typeof requestSummary>[0],
  result: CorsTestResponse,
): void {
  const origin = input.origin ?? null;
  const parsed = parseOrigin(origin);
  ctx.audit.record({
    ...auditBase(req, claims),
    tenant: target.tenant,
    decision: "accepted",
    reason: "tester_cors",
    origin: clip(origin),
    originNormalized: parsed.kind === "origin" ? parsed.origin : parsed.kind === "null" ? "null" : null,
    path: targetPath(target),
    policyVersion: result.policyVersion ?? null,
    matchedPattern: result.trace?.decision.matchedPattern ?? null,
    durationMs: Math.round(result.timings.total),
    details: {
      run: "cors",
      runId: result.runId,
      by: by(claims),
      target: result.target,
      request: {
        origin: origin === null ? "(none)" : clip(origin),
        method: input.method,
        preflight: input.preflight,
        ...requestSummary(input),
      },
      outcome: {
        status: result.status,
        granted: result.granted,
        issues: result.issues,
        reason: result.reason ?? null,
        error: result.error?.code ?? null,
        expected: result.trace ? (result.trace.decision.reason === "allowed" ? "allow" : "refuse") : null,
      },
    },
  });
  ctx.logger.info(
    {
      run: "cors",
      runId: result.runId,
      by: claims.name,
      tenant: target.tenant,
      target: result.target.url,
      status: result.status,
    },
    "tester run",
  );
}

function auditCorsScan(
  ctx: TesterDeps,
  req: http.IncomingMessage,
  claims: AdminClaims,
  target: ResolvedTarget,
  input: Parameters<typeof requestSummary>[0],
  result: CorsScanResponse,
): void {
  ctx.audit.record({
    ...auditBase(req, claims),
    tenant: target.tenant,
    decision: "accepted",
    reason: "tester_cors_scan",
    origin: null,
    originNormalized: null,
    path: targetPath(target),
    policyVersion: result.policyVersion,
    matchedPattern: null,
    durationMs: result.durationMs,
    details: {
      run: "cors-scan",
      runId: result.runId,
      by: by(claims),
      target: result.target,
      request: requestSummary(input),
      outcome: {
        ...result.summary,
        truncated: result.truncated,
        incomplete: result.incomplete,
        findingOrigins: result.findings.slice(0, 50).map((f) => clip(f.origin ?? "(none)", 256)),
      },
    },
  });
  ctx.logger.info(
    {
      run: "cors-scan",
      runId: result.runId,
      by: claims.name,
      tenant: target.tenant,
      target: result.target.url,
      findings: result.findings.length,
    },
    "tester run",
  );
}
