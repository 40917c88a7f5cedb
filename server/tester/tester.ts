/**
 * The two tester runs, on an already resolved target (targets.ts):
 *
 * testHandshake — one real handshake (run-handshake.ts). For a tenant of this gateway it
 * adds the decision trace of the policy in force (explainHandshake with exactly the inputs
 * sent) and that policy's version.
 *
 * scanTarget — every scan variant (scan-variants.ts) as a real handshake against the
 * target, CONCURRENCY at a time, within SCAN_DEADLINE_MS; each result says what the
 * tenant's policy expects (decideHandshake with the same inputs), what the target did, and
 * `finding: true` when the target accepted what the policy refuses.
 *
 * Rate limits: handshakes to this gateway come from its own address (loopback), so they
 * count against the tenant's per-IP handshake limit like any client's. MAX_SCAN_VARIANTS
 * (500) stays under the default 600/min; a tenant with a lower limit gets 429s for the
 * excess, which are reported as inconclusive (`error`, counted in `rateLimited`) with a
 * note — never as "refused", which would look like protection.
 *
 * Against this gateway only: when the policy requires a token and none was given, the
 * scan mints a 2-minute token for the tenant, and when it requires a subprotocol it offers
 * the first allowed one, so the scan tests the Origin check rather than stopping at
 * token_missing. Minted tokens go only to this gateway, never to registered endpoints.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { REASON_HEADER } from "../gateway/abort-handshake";
import { testerMarkHeaders } from "../gateway/tester-mark";
import { accessTokenValues } from "../gateway/upstream-path";
import { decideHandshake, explainHandshake, signHandshakeToken } from "../policy";
import type { HandshakeInput, ScanInput } from "./input";
import { type HandshakeResult, runHandshake, TESTER_USER_AGENT } from "./run-handshake";
import { MAX_SCAN_VARIANTS, type ScanVariant, scanVariants } from "./scan-variants";
import { loadedRuntime, type ResolvedTarget } from "./targets";
import type { HandshakeResponse, Observed, ScanResponse, ScanResult, TesterTarget, TesterTrace } from "./types";

export const SCAN_CONCURRENCY = 4;
export const SCAN_DEADLINE_MS = 25_000;
export const HANDSHAKE_TIMEOUT_MS = 5000;
export const CLOSE_WAIT_MS = 300;

export interface TesterRunOptions {
  runId?: string;
  /** Overrides for tests (not reachable through the API). */
  timeoutMs?: number;
  deadlineMs?: number;
  maxVariants?: number;
}

export function targetView(target: ResolvedTarget): TesterTarget {
  return {
    kind: target.kind,
    tenant: target.tenant,
    url: target.display,
    ...(target.kind === "endpoint" ? { label: target.label } : {}),
  };
}

export async function testHandshake(
  target: ResolvedTarget,
  input: HandshakeInput,
  options: TesterRunOptions = {},
): Promise<HandshakeResponse> {
  const runId = options.runId ?? randomUUID();
  const offered = [...(input.subprotocols ?? []), ...(input.token ? [`bearer.${input.token}`] : [])];
  // The trace is computed from the policy snapshot the handshake is about to meet.
  let trace: TesterTrace | undefined;
  let policyVersion: number | undefined;
  if (target.kind === "tenant") {
    const explanation = explainHandshake(target.runtime.compiled, {
      origin: input.origin ?? undefined,
      hasCookie: Boolean(input.cookie),
      hasAuthorization: Boolean(input.authorization),
      offeredSubprotocols: offered,
      accessTokenParam: accessTokenValues(target.rest),
      now: Date.now(),
    });
    const { decision } = explanation;
    trace = {
      decision: {
        allowed: decision.allowed,
        reason: decision.reason,
        status: decision.status,
        matchedPattern: decision.matchedPattern,
        enforced: decision.enforced,
        ...(decision.wouldReject ? { wouldReject: decision.wouldReject } : {}),
        normalizedOrigin: decision.normalizedOrigin,
        selectedSubprotocol: decision.selectedSubprotocol,
        ...(decision.detail ? { detail: decision.detail } : {}),
      },
      steps: explanation.steps,
      ...(explanation.closestPattern ? { closestPattern: explanation.closestPattern } : {}),
    };
    policyVersion = target.runtime.version;
  }
  const result = await runHandshake({
    url: target.url,
    lookup: target.kind === "endpoint" ? target.lookup : undefined,
    origin: input.origin,
    cookie: input.cookie,
    authorization: input.authorization,
    token: input.token,
    subprotocols: input.subprotocols,
    headers: input.headers,
    // This gateway's own tenants: marked as tester traffic (left out of the audit statistics).
    hiddenHeaders: target.kind === "tenant" ? testerMarkHeaders() : undefined,
    userAgent: userAgentFor(runId, input.headers),
    timeoutMs: options.timeoutMs ?? HANDSHAKE_TIMEOUT_MS,
    closeWaitMs: CLOSE_WAIT_MS,
  });
  const reason = result.headers[REASON_HEADER.toLowerCase()];
  const { url: _url, ...rest } = result;
  return {
    runId,
    target: targetView(target),
    ...rest,
    ...(reason !== undefined ? { reason } : {}),
    ...(trace ? { trace } : {}),
    ...(policyVersion !== undefined ? { policyVersion } : {}),
  };
}

/** The tester's User-Agent carries the run id so the gateway's own audit rows can be matched to the run. */
function userAgentFor(runId: string, headers: Record<string, string> | undefined): string | undefined {
  if (headers && Object.keys(headers).some((h) => h.toLowerCase() === "user-agent")) return undefined;
  return `${TESTER_USER_AGENT} (run ${runId})`;
}

/** What the target did with one variant, in the scan's terms. */
export function observe(result: HandshakeResult): { observed: Observed; detail?: string } {
  if (result.upgraded) {
    if (result.closeCode === undefined) return { observed: "allowed" };
    const frames = result.framesBeforeClose ?? 0;
    if (frames > 0) {
      // It talked to the page before hanging up: what a hijacking page needs.
      return {
        observed: "allowed",
        detail: `upgraded, sent ${frames} message${frames === 1 ? "" : "s"}, then closed with ${result.closeCode}`,
      };
    }
    return { observed: "refused", detail: `upgraded, then closed at once with ${result.closeCode}` };
  }
  if (result.status === null) return { observed: "error", detail: result.error?.message ?? "no answer" };
  if (result.error) return { observed: "error", detail: result.error.message };
  if (result.status === 429)
    return { observed: "error", detail: "rate limited (429): says nothing about the Origin check" };
  if (result.status >= 500)
    return { observed: "error", detail: `HTTP ${result.status}: the target failed; inconclusive` };
  return { observed: "refused" };
}

export async function scanTarget(
  target: ResolvedTarget,
  input: ScanInput,
  options: TesterRunOptions = {},
): Promise<ScanResponse> {
  const started = performance.now();
  const runId = options.runId ?? randomUUID();
  const runtime = loadedRuntime(target);
  const compiled = runtime.compiled;
  const document = compiled.document;
  const notes: string[] = [];
  const { variants, truncated } = scanVariants(
    document.origins.map((o) => o.pattern),
    options.maxVariants ?? MAX_SCAN_VARIANTS,
  );
  if (truncated) {
    notes.push(
      `The allowlist yields more than ${variants.length} variants; only the first ${variants.length} were run (entries in allowlist order).`,
    );
  }

  let token = input.token;
  let subprotocols = input.subprotocols;
  if (target.kind === "tenant") {
    const now = Date.now();
    if (token === undefined && compiled.settings.requireToken && compiled.tokenSecret) {
      token = signHandshakeToken(
        {
          aud: compiled.tenant,
          sub: "origingate-tester",
          iat: Math.floor(now / 1000),
          exp: Math.floor(now / 1000) + 120,
        },
        compiled.tokenSecret,
      );
      notes.push("The policy requires a token: the scan sent a valid one, so what is tested is the Origin check.");
    }
    if (subprotocols === undefined && compiled.settings.requireSubprotocol) {
      subprotocols = [compiled.settings.subprotocols[0]!];
      notes.push(`The policy requires a subprotocol: the scan offered "${subprotocols[0]}".`);
    }
    const limit = document.limits.handshakesPerMinutePerIp;
    if (variants.length > limit) {
      notes.push(
        `The tenant allows ${limit} handshakes per minute per client address and this scan makes ${variants.length} ` +
          "from the gateway's own address: the excess is refused with 429 and reported as inconclusive.",
      );
    }
    if (!compiled.settings.enforce) {
      notes.push(
        "The tenant is in report-only mode: this gateway lets every handshake through, so every variant the policy refuses is a finding here.",
      );
    }
  }
  const offered = [...(subprotocols ?? []), ...(token ? [`bearer.${token}`] : [])];
  const query = target.kind === "tenant" ? accessTokenValues(target.rest) : null;

  const deadline = Date.now() + (options.deadlineMs ?? SCAN_DEADLINE_MS);
  const results: ScanResult[] = new Array(variants.length);
  let next = 0;
  let incomplete = false;
  const worker = async () => {
    for (;;) {
      const index = next++;
      if (index >= variants.length) return;
      const variant = variants[index]!;
      const decision = decideHandshake(compiled, {
        origin: variant.origin ?? undefined,
        hasCookie: Boolean(input.cookie),
        hasAuthorization: Boolean(input.authorization),
        offeredSubprotocols: offered,
        accessTokenParam: query,
        now: Date.now(),
      });
      const expected = decision.allowed && decision.wouldReject === undefined ? "allow" : "refuse";
      const base = {
        variant: variant.label,
        origin: variant.origin,
        ...(variant.raw ? { raw: true } : {}),
        patterns: variant.patterns,
        expected,
        expectedReason: decision.wouldReject ?? decision.reason,
      } as const;
      const remaining = deadline - Date.now();
      if (remaining < 250) {
        incomplete = true;
        results[index] = {
          ...base,
          observed: "error",
          status: null,
          detail: "not run: the scan reached its time limit",
          finding: false,
        };
        continue;
      }
      results[index] = await runVariant(target, variant, base, {
        cookie: input.cookie,
        authorization: input.authorization,
        token,
        subprotocols,
        headers: input.headers,
        hiddenHeaders: target.kind === "tenant" ? testerMarkHeaders() : undefined,
        userAgent: userAgentFor(runId, input.headers),
        timeoutMs: Math.min(options.timeoutMs ?? HANDSHAKE_TIMEOUT_MS, remaining),
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(SCAN_CONCURRENCY, variants.length) }, worker));

  const findings = results.filter((r) => r.finding);
  const rateLimited = results.filter((r) => r.status === 429).length;
  const summary = {
    variants: results.length,
    allowed: results.filter((r) => r.observed === "allowed").length,
    refused: results.filter((r) => r.observed === "refused").length,
    errors: results.filter((r) => r.observed === "error").length,
    findings: findings.length,
    mismatches: results.filter((r) => r.expected === "allow" && r.observed === "refused").length,
    rateLimited,
  };
  if (incomplete)
    notes.push(
      `The scan stopped at its ${Math.round((options.deadlineMs ?? SCAN_DEADLINE_MS) / 1000)} s limit; variants not run are reported as errors.`,
    );
  const controls = results.filter((r) => r.expected === "allow");
  if (controls.length > 0 && controls.every((r) => r.observed !== "allowed")) {
    notes.push(
      "The target accepted none of the origins the policy allows: the scan may be inconclusive (wrong path, missing token or credentials, or the target is down).",
    );
  }
  return {
    runId,
    target: targetView(target),
    policyVersion: runtime.version,
    mode: document.mode,
    results,
    findings,
    summary,
    truncated,
    incomplete,
    notes,
    durationMs: Math.round(performance.now() - started),
  };
}

async function runVariant(
  target: ResolvedTarget,
  variant: ScanVariant,
  base: Omit<ScanResult, "observed" | "status" | "finding">,
  request: {
    cookie?: string;
    authorization?: string;
    token?: string;
    subprotocols?: string[];
    headers?: Record<string, string>;
    hiddenHeaders?: Record<string, string>;
    userAgent?: string;
    timeoutMs: number;
  },
): Promise<ScanResult> {
  const result = await runHandshake({
    url: target.url,
    lookup: target.kind === "endpoint" ? target.lookup : undefined,
    origin: variant.origin,
    closeWaitMs: CLOSE_WAIT_MS,
    ...request,
  });
  const { observed, detail } = observe(result);
  const reason = result.headers[REASON_HEADER.toLowerCase()];
  return {
    ...base,
    observed,
    status: result.status,
    ...(reason !== undefined ? { reason } : {}),
    ...(result.closeCode !== undefined ? { closeCode: result.closeCode } : {}),
    ...(detail ? { detail } : {}),
    finding: base.expected === "refuse" && observed === "allowed",
  };
}
