"use client";
/**
 * The tenant's open rollout (SPEC §5.2): its stage, who published it and why, its steps, the
 * diff against the active version, the shadow-versus-active summary per origin, and the
 * actions the stage allows — move a shadow to canary (gateway labels and/or a percentage of
 * clients, optional guard; same version), promote and abort, or approve and reject while it
 * waits for a second person (never offered to its author: the server refuses that with 403
 * anyway).
 * With the diff comes the change's impact preview: its version replayed against the active
 * one over the last 7 days of recorded handshakes, shown as the save bar shows a draft's.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, errorMessage } from "@/app/_client/api-client";
import { relativeTime } from "@/app/_client/format";
import { rolloutChanged } from "@/app/_client/mutations";
import { fleetQuery, rolloutQuery, rolloutsQuery, shadowSummaryQuery } from "@/app/_client/queries";
import { useCan, useSession } from "@/app/_client/session";
import { useToast } from "@/app/_client/toast";
import { DiffView } from "@/app/_components/diff-view";
import type { RolloutView } from "@/server/domain/rollouts/rollout-view";
import { ImpactSummary } from "./impact-preview";

const STAGE_LABEL: Record<string, string> = {
  pending_approval: "waiting for approval",
  shadow: "shadow",
  canary: "canary",
  promoted: "promoted",
  aborted: "aborted",
  rejected: "rejected",
};

function canaryText(r: RolloutView): string {
  if (!r.canary) return "";
  const parts = [
    r.canary.labels.length ? `gateways labelled ${r.canary.labels.join(", ")}` : "",
    r.canary.percent ? `${r.canary.percent}% of clients` : "",
  ].filter(Boolean);
  return parts.join(" and ");
}

export function RolloutPanel({ slug }: { slug: string }) {
  const rollouts = useQuery(rolloutsQuery(slug));
  const open = rollouts.data?.rollouts.find((r) => r.open) ?? null;
  const last = rollouts.data?.rollouts.find((r) => !r.open) ?? null;
  if (!rollouts.data) return null;
  if (!open) {
    return last?.closedBy?.startsWith("guard:") && Date.now() - Date.parse(last.closedAt ?? "") < 3600_000 ? (
      <div className="callout callout-warn" role="status" data-testid="guard-aborted">
        The guard aborted staged version v{last.version} {relativeTime(last.closedAt ?? last.updatedAt)}:{" "}
        {last.steps?.at(-1)?.comment}
      </div>
    ) : null;
  }
  return <OpenRollout slug={slug} rollout={open} requireApproval={rollouts.data.requireApproval} />;
}

function OpenRollout({
  slug,
  rollout,
  requireApproval,
}: {
  slug: string;
  rollout: RolloutView;
  requireApproval: boolean;
}) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const session = useSession();
  const canWrite = useCan("policy.write");
  const [comment, setComment] = useState("");
  const [showDiff, setShowDiff] = useState(rollout.stage === "pending_approval");
  const [movingToCanary, setMovingToCanary] = useState(false);
  const detail = useQuery({ ...rolloutQuery(slug, rollout.id), enabled: showDiff });
  const shadow = useQuery({ ...shadowSummaryQuery(slug, rollout.version), enabled: rollout.stage === "shadow" });
  const act = useMutation({
    mutationFn: (action: "promote" | "abort" | "approve" | "reject") =>
      api<RolloutView>(
        `/api/v1/tenants/${encodeURIComponent(slug)}/rollouts/${encodeURIComponent(rollout.id)}/${action}`,
        { method: "POST", body: comment.trim() ? { comment: comment.trim() } : {} },
      ),
    onSuccess: async (after) => {
      setComment("");
      toast.success(
        after.stage === "pending_approval"
          ? `Version ${after.version} waits for a second person's approval`
          : after.stage === "promoted"
            ? `Version ${after.version} is now active at every gateway`
            : `Version ${after.version}: ${STAGE_LABEL[after.stage]}`,
      );
      await rolloutChanged(queryClient, slug);
    },
    onError: (error) => toast.error(error instanceof Error ? error.message : String(error)),
  });
  const requesters = new Set([
    rollout.author,
    ...(rollout.steps ?? []).filter((s) => s.to === "pending_approval").map((s) => s.actor),
  ]);
  const mine = requesters.has(session.email);
  const waiting = rollout.stage === "pending_approval";

  return (
    <section className="callout callout-info rollout-panel" aria-label="Rollout" data-testid="rollout-panel">
      <div className="savebar-row">
        <strong>
          Version {rollout.version}{" "}
          <span className="badge" data-testid="rollout-stage">
            {STAGE_LABEL[rollout.stage]}
          </span>
        </strong>
        <span className="small">
          {waiting && rollout.requestedStage
            ? `to become ${rollout.requestedStage === "promoted" ? "active" : `a canary (${canaryText(rollout)})`} · `
            : null}
          {rollout.stage === "canary" ? `enforced for ${canaryText(rollout)} · ` : null}
          {rollout.stage === "shadow" ? "every gateway also decides with it and records where it differs · " : null}
          by <strong>{rollout.author}</strong> {relativeTime(rollout.createdAt)}
          {rollout.comment ? <> — “{rollout.comment}”</> : null}
          {rollout.guard ? ` · guard: abort above ${rollout.guard.maxNewRefusalsPerMinute} new refusals/min` : null}
        </span>
        <button type="button" className="btn btn-link btn-sm" onClick={() => setShowDiff((s) => !s)}>
          {showDiff ? "Hide changes" : "Review changes"}
        </button>
      </div>
      {showDiff ? (
        detail.data ? (
          <>
            <div data-testid="rollout-diff">
              <DiffView diff={detail.data.diff} />
            </div>
            {detail.data.impact ? (
              <div data-testid="rollout-impact">
                <ImpactSummary
                  impact={{
                    preview: detail.data.impact,
                    pending: false,
                    error: null,
                    refusals: detail.data.impact.newlyRefused.reduce((sum, e) => sum + e.count, 0),
                  }}
                />
              </div>
            ) : null}
          </>
        ) : detail.error ? (
          <p className="callout callout-warn small" role="alert">
            Could not load the changes: {errorMessage(detail.error)}
          </p>
        ) : (
          <p className="small muted">Loading changes…</p>
        )
      ) : null}
      {rollout.stage === "shadow" && shadow.data ? <ShadowTable summary={shadow.data} /> : null}
      <ol className="small rollout-steps">
        {(rollout.steps ?? []).map((s) => (
          <li key={`${s.at}-${s.action}`}>
            {s.action.replace("_", " ")} by {s.actor} {relativeTime(s.at)}
            {s.comment ? <> — “{s.comment}”</> : null}
          </li>
        ))}
      </ol>
      {canWrite ? (
        <div className="savebar-row">
          <label className="field field-inline grow">
            <span className="label">Comment</span>
            <input value={comment} onChange={(e) => setComment(e.target.value)} maxLength={500} />
          </label>
          {waiting ? (
            <>
              <button
                type="button"
                className="btn btn-primary"
                disabled={act.isPending || mine}
                title={mine ? "A second person must approve your change" : undefined}
                onClick={() => act.mutate("approve")}
              >
                Approve
              </button>
              <button type="button" className="btn" disabled={act.isPending} onClick={() => act.mutate("reject")}>
                Reject
              </button>
              {mine ? <span className="small muted">Waiting for someone else to approve.</span> : null}
            </>
          ) : (
            <>
              {rollout.stage === "shadow" ? (
                <button
                  type="button"
                  className="btn"
                  aria-expanded={movingToCanary}
                  onClick={() => setMovingToCanary((open) => !open)}
                >
                  Move to canary…
                </button>
              ) : null}
              <button
                type="button"
                className="btn btn-primary"
                disabled={act.isPending}
                onClick={() => act.mutate("promote")}
              >
                Promote to active
              </button>
              <button type="button" className="btn" disabled={act.isPending} onClick={() => act.mutate("abort")}>
                Abort
              </button>
            </>
          )}
        </div>
      ) : null}
      {canWrite && rollout.stage === "shadow" && movingToCanary ? (
        <CanaryForm
          slug={slug}
          rollout={rollout}
          comment={comment}
          requireApproval={requireApproval}
          onDone={() => {
            setMovingToCanary(false);
            setComment("");
          }}
        />
      ) : null}
    </section>
  );
}

/**
 * Shadow -> canary, same version: where it is enforced (gateways carrying one of the labels,
 * and/or a stable percentage of client addresses) and the optional guard. The labels the
 * live gateways carry are offered; a label no live gateway carries is allowed (a gateway
 * started later with it applies the canary) but said so.
 */
function CanaryForm({
  slug,
  rollout,
  comment,
  requireApproval,
  onDone,
}: {
  slug: string;
  rollout: RolloutView;
  comment: string;
  requireApproval: boolean;
  onDone: () => void;
}) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const fleet = useQuery(fleetQuery());
  const [labels, setLabels] = useState("");
  const [percent, setPercent] = useState("");
  const [guard, setGuard] = useState(rollout.guard ? String(rollout.guard.maxNewRefusalsPerMinute) : "");
  const known = [...new Set((fleet.data?.gateways ?? []).filter((g) => g.live).flatMap((g) => g.labels))].sort();
  const chosen = labels
    .split(",")
    .map((l) => l.trim())
    .filter(Boolean);
  const unknown = fleet.data ? chosen.filter((l) => !known.includes(l)) : [];
  const share = percent.trim() === "" ? null : Number(percent);
  const problem =
    chosen.length === 0 && share === null
      ? "Give gateway labels, a percentage of clients, or both."
      : share !== null && !(Number.isInteger(share) && share >= 1 && share <= 99)
        ? "The percentage is a whole number from 1 to 99."
        : guard.trim() !== "" && !(Number.isInteger(Number(guard)) && Number(guard) >= 0)
          ? "The guard is a whole number of refusals per minute."
          : null;
  const move = useMutation({
    mutationFn: () =>
      api<RolloutView>(
        `/api/v1/tenants/${encodeURIComponent(slug)}/rollouts/${encodeURIComponent(rollout.id)}/canary`,
        {
          method: "POST",
          body: {
            canary: { ...(chosen.length ? { labels: chosen } : {}), ...(share !== null ? { percent: share } : {}) },
            guard: guard.trim() === "" ? null : { maxNewRefusalsPerMinute: Number(guard) },
            ...(comment.trim() ? { comment: comment.trim() } : {}),
          },
        },
      ),
    onSuccess: async (after) => {
      toast.success(
        after.stage === "pending_approval"
          ? `Version ${after.version} waits for a second person's approval to become a canary`
          : `Version ${after.version} is now a canary (${canaryText(after)})`,
      );
      onDone();
      await rolloutChanged(queryClient, slug);
    },
    onError: (error) => toast.error(errorMessage(error)),
  });
  return (
    <form
      className="stack small"
      aria-label="Move to canary"
      data-testid="canary-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (!problem) move.mutate();
      }}
    >
      <p className="muted">
        Version {rollout.version} stays version {rollout.version}: instead of only being compared, it is enforced for
        the clients below. The comment above goes with this step.
        {requireApproval ? " This tenant requires a second person's approval before it becomes a canary." : ""}
      </p>
      <div className="savebar-row">
        <label className="field field-inline grow">
          <span className="label">Gateway labels</span>
          <input
            value={labels}
            onChange={(e) => setLabels(e.target.value)}
            list={`canary-labels-${rollout.id}`}
            placeholder={known.length ? known.join(", ") : "canary"}
            aria-describedby={`canary-labels-help-${rollout.id}`}
          />
          <datalist id={`canary-labels-${rollout.id}`}>
            {known.map((l) => (
              <option key={l} value={l} />
            ))}
          </datalist>
        </label>
        <label className="field field-inline">
          <span className="label">% of clients</span>
          <input type="number" min={1} max={99} step={1} value={percent} onChange={(e) => setPercent(e.target.value)} />
        </label>
        <label className="field field-inline">
          <span className="label">Guard: abort above new refusals/min</span>
          <input
            type="number"
            min={0}
            step={1}
            value={guard}
            placeholder="no guard"
            onChange={(e) => setGuard(e.target.value)}
          />
        </label>
      </div>
      <p className="muted" id={`canary-labels-help-${rollout.id}`}>
        Gateways started with one of these labels (GATEWAY_LABELS, comma-separated) enforce it for every client; a
        percentage applies it on every gateway to that share of client addresses (a stable hash: one client always sees
        one version).
        {unknown.length ? ` No live gateway carries ${unknown.join(", ")} yet.` : ""}
      </p>
      {problem && (labels !== "" || percent !== "" || guard !== "") ? (
        <p className="callout callout-warn" role="alert">
          {problem}
        </p>
      ) : null}
      <div className="savebar-row">
        <button type="submit" className="btn btn-primary" disabled={move.isPending || problem !== null}>
          {move.isPending ? "Moving…" : requireApproval ? "Request canary" : "Move to canary"}
        </button>
        <button type="button" className="btn" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function ShadowTable({ summary }: { summary: import("@/app/_lib/audit/get-shadow-summary").ShadowSummary }) {
  if (summary.origins.length === 0) {
    return <p className="small muted">No handshake decided differently under the shadow version yet.</p>;
  }
  return (
    <table className="table small" data-testid="shadow-summary">
      <caption className="small">
        Shadow vs active: {summary.totals.newlyRefused} would be newly refused, {summary.totals.newlyAllowed} newly
        allowed
      </caption>
      <thead>
        <tr>
          <th>Origin</th>
          <th>Active</th>
          <th>Shadow</th>
          <th>Handshakes</th>
        </tr>
      </thead>
      <tbody>
        {summary.origins.map((o) => (
          <tr key={`${o.origin}-${o.decision}-${o.shadowDecision}-${o.shadowReason}`}>
            <td className="mono">{o.origin}</td>
            <td>
              {o.decision} ({o.reason})
            </td>
            <td>
              {o.shadowDecision} ({o.shadowReason})
            </td>
            <td>{o.count}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
