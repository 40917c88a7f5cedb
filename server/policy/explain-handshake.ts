/**
 * explainHandshake: the decision plus a step-by-step trace of every check, and — when the
 * origin matched nothing — the closest pattern in the allowlist with the reason it did not
 * match, in words ("scheme differs (http vs https)", "wildcard *.example.com does not cover
 * the apex example.com — add https://example.com", ...).
 *
 * The decision and the trace come from the same code path as decideHandshake
 * (`evaluateHandshake`), so an explanation can never contradict what the gateway does.
 * The closest pattern comes from closest-pattern.ts (browser-safe: the audit page's "Allow
 * this origin" uses the same analysis to warn about lookalikes and downgrades).
 *
 * Not browser-safe (it decides, and deciding verifies tokens with node:crypto).
 */
import { closestToNull, closestToOrigin } from "./closest-pattern";
import type { CompiledPolicy } from "./compile-policy";
import { type Decision, evaluateHandshake, type HandshakeRequest } from "./decide-handshake";
import { parseOrigin } from "./parse-origin";
import type { ExplainStep } from "./types";

export type { ExplainStep } from "./types";

export interface HandshakeExplanation {
  decision: Decision;
  steps: ExplainStep[];
  closestPattern?: { pattern: string; why: string };
}

export function explainHandshake(compiled: CompiledPolicy, request: HandshakeRequest): HandshakeExplanation {
  const steps: ExplainStep[] = [];
  const decision = evaluateHandshake(compiled, request, steps);
  const explanation: HandshakeExplanation = { decision, steps };
  const originFailed = decision.reason === "origin_not_allowed" || decision.reason === "origin_null";
  if (!originFailed) return explanation;
  try {
    const parsed = parseOrigin(request.origin);
    const closest =
      parsed.kind === "origin"
        ? closestToOrigin(compiled.entries, parsed, request.now)
        : parsed.kind === "null"
          ? closestToNull(compiled.entries, request.now)
          : undefined;
    if (closest) explanation.closestPattern = { pattern: closest.pattern, why: closest.why };
  } catch {
    // The explanation is a courtesy; the decision above stands without it.
  }
  return explanation;
}
