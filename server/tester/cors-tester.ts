/**
 * The CORS tester's two runs, on an already resolved target (targets.ts), against the
 * target's HTTP form (endpoint-url.ts `httpForm`: this gateway's `/t/<slug>/...`, or a
 * registered endpoint):
 *
 * testCors — one real request with any Origin: the actual request (any method) or its
 * preflight (OPTIONS with Access-Control-Request-Method/Headers). The answer's status, CORS
 * headers, whether a page on that Origin could read it, the misconfigurations it shows
 * (cors-findings.ts), and for a tenant of this gateway the decision trace of the policy in
 * force (explainCors with exactly the inputs sent).
 *
 * scanCors — the Origin variants of the WebSocket scan (scan-variants.ts: arbitrary
 * third-party origin, `null`, prefix/suffix lookalikes, unescaped dots, scheme downgrade,
 * ports, special characters, plus a control each entry allows), each as an actual GET, and
 * one preflight from the third-party origin; CONCURRENCY at a time within the deadline.
 * A result is a finding when the answer grants an origin the policy refuses, or shows a
 * credential or Vary misconfiguration (cors-findings.ts).
 *
 * Both runs mark their requests to this gateway's own tenants with the tester mark
 * (server/gateway/tester-mark.ts): the gateway audits them `via = 'tester'`, outside the
 * statistics, top lists and alerts by default. Registered endpoints never get the mark.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { REASON_HEADER } from "../gateway/abort-handshake";
import { testerMarkHeaders } from "../gateway/tester-mark";
import { decideCors, explainCors } from "../policy";
import { corsHeadersOf, corsIssues, grantsOrigin } from "./cors-findings";
import type { CorsInput, CorsScanInput } from "./cors-input";
import { httpForm } from "./endpoint-url";
import { runHttpRequest } from "./run-http";
import { MAX_SCAN_VARIANTS, scanVariants } from "./scan-variants";
import { loadedRuntime, type ResolvedTarget } from "./targets";
import { HANDSHAKE_TIMEOUT_MS, SCAN_CONCURRENCY, SCAN_DEADLINE_MS, type TesterRunOptions, targetView } from "./tester";
import type { CorsScanResponse, CorsScanResult, CorsTestResponse } from "./types";

const PREFLIGHT_PROBE_METHOD = "PUT";
const THIRD_PARTY = "https://evil.net";

/**
 * This gateway's own tenants: the tester mark, so the gateway audits the requests as tester
 * traffic (left out of the statistics, top lists and alerts). Never sent to a registered endpoint.
 */
function markFor(target: ResolvedTarget): Record<string, string> | undefined {
  return target.kind === "tenant" ? testerMarkHeaders() : undefined;
}

/** The request headers of a run (Origin, credentials, extra headers, the run id in the User-Agent). */
function requestHeaders(
  runId: string,
  input: { cookie?: string; authorization?: string; headers?: Record<string, string> },
  origin: string | null | undefined,
): Record<string, string> {
  const headers: Record<string, string> = { "User-Agent": `OriginGate-Tester/1 (run ${runId})` };
  if (origin !== undefined && origin !== null) headers.Origin = origin;
  if (input.cookie !== undefined) headers.Cookie = input.cookie;
  if (input.authorization !== undefined) headers.Authorization = input.authorization;
  for (const [name, value] of Object.entries(input.headers ?? {})) {
    if (name.toLowerCase() === "user-agent") delete headers["User-Agent"];
    headers[name] = value;
  }
  return headers;
}

export async function testCors(
  target: ResolvedTarget,
  input: CorsInput,
  options: TesterRunOptions = {},
): Promise<CorsTestResponse> {
  const runId = options.runId ?? randomUUID();
  const origin = input.origin ?? null;
  const requested = input.requestHeaders ?? [];
  const method = input.preflight ? "OPTIONS" : input.method;
  const headers = requestHeaders(runId, input, origin);
  if (input.preflight) {
    headers["Access-Control-Request-Method"] = input.method;
    if (requested.length > 0) headers["Access-Control-Request-Headers"] = requested.join(",");
  }
  const policy = target.runtime;
  let trace: CorsTestResponse["trace"];
  if (target.kind === "tenant") {
    const { decision, steps } = explainCors(target.runtime.compiled, {
      method,
      origin: origin ?? undefined,
      requestMethod: input.preflight ? input.method : undefined,
      requestHeaders: input.preflight && requested.length > 0 ? requested.join(",") : undefined,
      now: Date.now(),
    });
    trace = {
      decision: {
        kind: decision.kind,
        allowed: decision.allowed,
        reason: decision.reason,
        status: decision.status,
        enforced: decision.enforced,
        ...(decision.wouldReject ? { wouldReject: decision.wouldReject } : {}),
        matchedPattern: decision.matchedPattern,
        normalizedOrigin: decision.normalizedOrigin,
        headers: decision.headers,
        ...(decision.detail ? { detail: decision.detail } : {}),
      },
      steps,
    };
  }
  const result = await runHttpRequest({
    url: httpForm(target.url),
    method,
    headers,
    timeoutMs: options.timeoutMs ?? HANDSHAKE_TIMEOUT_MS,
    lookup: target.kind === "endpoint" ? target.lookup : undefined,
    hiddenHeaders: markFor(target),
  });
  const cors = corsHeadersOf(result.headers);
  const policyAllows = policy
    ? decideCors(policy.compiled, {
        method,
        origin: origin ?? undefined,
        requestMethod: input.preflight ? input.method : undefined,
        requestHeaders: input.preflight && requested.length > 0 ? requested.join(",") : undefined,
        now: Date.now(),
      }).reason === "allowed"
    : true;
  const reason = result.headers[REASON_HEADER.toLowerCase()];
  return {
    runId,
    target: targetView(target),
    request: { method: input.method, preflight: input.preflight, origin, requestHeaders: requested },
    status: result.status,
    statusLine: result.statusLine,
    headers: result.headers,
    cors,
    granted: grantsOrigin(cors, origin),
    issues: result.status === null ? [] : corsIssues(cors, origin, policyAllows),
    ...(reason !== undefined ? { reason } : {}),
    timings: result.timings,
    ...(result.error ? { error: result.error } : {}),
    ...(trace ? { trace } : {}),
    ...(policy && target.kind === "tenant" ? { policyVersion: policy.version } : {}),
  };
}

interface Probe {
  variant: string;
  origin: string;
  raw?: boolean;
  patterns: string[];
  probe: "request" | "preflight";
}

export async function scanCors(
  target: ResolvedTarget,
  input: CorsScanInput,
  options: TesterRunOptions = {},
): Promise<CorsScanResponse> {
  const started = performance.now();
  const runId = options.runId ?? randomUUID();
  const runtime = loadedRuntime(target);
  const compiled = runtime.compiled;
  const notes: string[] = [];
  const max = options.maxVariants ?? MAX_SCAN_VARIANTS;
  const { variants, truncated } = scanVariants(
    compiled.document.origins.map((o) => o.pattern),
    max - 1,
  );
  // A request without Origin is not a CORS request: nothing to grant, nothing to find.
  const probes: Probe[] = variants
    .filter((v): v is typeof v & { origin: string } => v.origin !== null)
    .map((v) => ({
      variant: v.label,
      origin: v.origin,
      ...(v.raw ? { raw: true } : {}),
      patterns: v.patterns,
      probe: "request" as const,
    }));
  probes.push({
    variant: `preflight (${PREFLIGHT_PROBE_METHOD}) from an unrelated third-party origin`,
    origin: THIRD_PARTY,
    patterns: [],
    probe: "preflight",
  });
  if (truncated) {
    notes.push(
      `The allowlist yields more variants than ${max}; only the first ones were run (entries in allowlist order).`,
    );
  }
  if (target.kind === "tenant") {
    if (!runtime.upstreamUrl) {
      notes.push(
        "This tenant has no upstream URL: the gateway answers its plain HTTP requests with 426, so nothing can be granted.",
      );
    }
    const limit = compiled.document.limits.requestsPerMinutePerIp;
    if (probes.length > limit) {
      notes.push(
        `The tenant allows ${limit} HTTP requests per minute per client address and this scan makes ${probes.length} from the gateway's own address: the excess is refused with 429 and reported as inconclusive.`,
      );
    }
    if (!compiled.settings.enforce) {
      notes.push(
        "The tenant is in report-only mode: this gateway forwards every request, but grants only what the policy allows.",
      );
    }
  }
  const url = httpForm(target.url);
  const deadline = Date.now() + (options.deadlineMs ?? SCAN_DEADLINE_MS);
  const results: CorsScanResult[] = new Array(probes.length);
  let next = 0;
  let incomplete = false;
  const worker = async () => {
    for (;;) {
      const index = next++;
      if (index >= probes.length) return;
      const probe = probes[index]!;
      const preflight = probe.probe === "preflight";
      const decision = decideCors(compiled, {
        method: preflight ? "OPTIONS" : "GET",
        origin: probe.origin,
        requestMethod: preflight ? PREFLIGHT_PROBE_METHOD : undefined,
        now: Date.now(),
      });
      const expectedAllow = decision.reason === "allowed";
      const base = {
        variant: probe.variant,
        origin: probe.origin,
        ...(probe.raw ? { raw: true } : {}),
        patterns: probe.patterns,
        probe: probe.probe,
        expected: expectedAllow ? ("allow" as const) : ("refuse" as const),
        expectedReason: decision.wouldReject ?? decision.reason,
      };
      const remaining = deadline - Date.now();
      if (remaining < 250) {
        incomplete = true;
        results[index] = {
          ...base,
          observed: "error",
          status: null,
          cors: corsHeadersOf({}),
          issues: [],
          detail: "not run: the scan reached its time limit",
          finding: false,
        };
        continue;
      }
      const headers = requestHeaders(runId, input, probe.origin);
      if (preflight) headers["Access-Control-Request-Method"] = PREFLIGHT_PROBE_METHOD;
      const result = await runHttpRequest({
        url,
        method: preflight ? "OPTIONS" : "GET",
        headers,
        timeoutMs: Math.min(options.timeoutMs ?? HANDSHAKE_TIMEOUT_MS, remaining),
        lookup: target.kind === "endpoint" ? target.lookup : undefined,
        hiddenHeaders: markFor(target),
      });
      const cors = corsHeadersOf(result.headers);
      if (result.status === null || result.status === 429 || result.status >= 500) {
        results[index] = {
          ...base,
          observed: "error",
          status: result.status,
          cors,
          issues: [],
          detail:
            result.error?.message ??
            (result.status === 429
              ? "rate limited (429): says nothing about the CORS check"
              : `HTTP ${result.status}: inconclusive`),
          finding: false,
        };
        continue;
      }
      const issues = corsIssues(cors, probe.origin, expectedAllow);
      const granted = grantsOrigin(cors, probe.origin);
      results[index] = {
        ...base,
        observed: granted ? "granted" : "refused",
        status: result.status,
        cors,
        issues,
        finding: issues.length > 0,
      };
    }
  };
  await Promise.all(Array.from({ length: Math.min(SCAN_CONCURRENCY, probes.length) }, worker));

  const findings = results.filter((r) => r.finding);
  if (incomplete) notes.push("The scan stopped at its time limit; probes not run are reported as errors.");
  const controls = results.filter((r) => r.expected === "allow");
  if (controls.length > 0 && controls.every((r) => r.observed !== "granted")) {
    notes.push(
      "The target granted none of the origins the policy allows: the scan may be inconclusive (wrong path, the endpoint does not speak CORS, or it is down).",
    );
  }
  return {
    runId,
    target: targetView(target),
    policyVersion: runtime.version,
    mode: compiled.document.mode,
    results,
    findings,
    summary: {
      probes: results.length,
      granted: results.filter((r) => r.observed === "granted").length,
      refused: results.filter((r) => r.observed === "refused").length,
      errors: results.filter((r) => r.observed === "error").length,
      findings: findings.length,
      mismatches: results.filter((r) => r.expected === "allow" && r.observed === "refused").length,
    },
    truncated,
    incomplete,
    notes,
    durationMs: Math.round(performance.now() - started),
  };
}
