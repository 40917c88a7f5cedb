"use client";
/**
 * History: every revision (who, when, comment, and for a staged version the stage it was
 * published in and where its rollout ended), a diff between any two of them, and rollback (a
 * new revision restoring an old document; editors only).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api } from "@/app/_client/api-client";
import { absoluteTime, relativeTime } from "@/app/_client/format";
import { policySaved } from "@/app/_client/mutations";
import { revisionQuery, revisionsQuery, type VersionedPolicyDocument } from "@/app/_client/queries";
import { useToast } from "@/app/_client/toast";
import { DiffView } from "@/app/_components/diff-view";
import { Empty, ErrorState, Loading, ModeBadge } from "@/app/_components/status";
import type { RevisionSummary } from "@/app/_lib/policy/list-revisions";

const PUBLISHED_AS: Record<string, string> = {
  pending_approval: "sent for approval",
  shadow: "published as shadow",
  canary: "published as canary",
};
const ROLLOUT_NOW: Record<string, string> = {
  pending_approval: "waiting for approval",
  shadow: "in shadow",
  canary: "in canary",
  promoted: "promoted",
  aborted: "aborted",
  rejected: "rejected",
};

/** "published as shadow · promoted": how a staged version came and where its rollout stands. */
function StageBadge({ revision }: { revision: RevisionSummary }) {
  if (!revision.stage) return null;
  const now = revision.rolloutState ? ROLLOUT_NOW[revision.rolloutState] : null;
  const closedWithout = revision.rolloutState === "aborted" || revision.rolloutState === "rejected";
  return (
    <span
      className={`badge ${closedWithout ? "badge-warn" : "badge-info"}`}
      data-testid="revision-stage"
      title={closedWithout ? "This version was never active" : undefined}
    >
      {PUBLISHED_AS[revision.stage] ?? revision.stage}
      {now && revision.rolloutState !== revision.stage ? ` · ${now}` : null}
    </span>
  );
}

export function HistoryTab({
  slug,
  currentVersion,
  editorDirty,
  writable,
}: {
  slug: string;
  currentVersion: number;
  editorDirty: boolean;
  /** May roll back: the role allows it and the tenant is not managed by code. */
  writable: boolean;
}) {
  const revisions = useQuery(revisionsQuery(slug));
  const canWrite = writable;
  const [from, setFrom] = useState<number | null>(null);
  const [to, setTo] = useState<number | null>(null);
  const [rollbackTarget, setRollbackTarget] = useState<number | null>(null);

  // Default comparison: the latest revision against the one before it.
  useEffect(() => {
    const list = revisions.data?.revisions;
    if (!list || list.length === 0) return;
    if (to === null || !list.some((r) => r.version === to)) setTo(list[0]?.version ?? null);
    if (from === null || !list.some((r) => r.version === from)) setFrom(list[1]?.version ?? null);
  }, [revisions.data, from, to]);

  if (revisions.isPending) return <Loading />;
  if (revisions.isError) return <ErrorState error={revisions.error} onRetry={() => revisions.refetch()} />;
  const list = revisions.data.revisions;
  if (list.length === 0) return <Empty title="No revisions" />;

  return (
    <div className="stack">
      <div className="table-wrap">
        <table className="table" aria-label="Revisions">
          <thead>
            <tr>
              <th title="Compare from">From</th>
              <th title="Compare to">To</th>
              <th className="num">Version</th>
              <th>When</th>
              <th>Author</th>
              <th>Comment</th>
              <th className="num">Origins</th>
              <th>Mode</th>
              {canWrite ? <th aria-label="Actions" /> : null}
            </tr>
          </thead>
          <tbody>
            {list.map((r) => (
              <tr key={r.version} className={r.version === to || r.version === from ? "row-selected" : undefined}>
                <td>
                  <input
                    type="radio"
                    name="compare-from"
                    aria-label={`Compare from version ${r.version}`}
                    checked={from === r.version}
                    onChange={() => setFrom(r.version)}
                  />
                </td>
                <td>
                  <input
                    type="radio"
                    name="compare-to"
                    aria-label={`Compare to version ${r.version}`}
                    checked={to === r.version}
                    onChange={() => setTo(r.version)}
                  />
                </td>
                <td className="num mono">
                  v{r.version}
                  {r.version === currentVersion ? <span className="badge badge-ok">current</span> : null}
                </td>
                <td title={absoluteTime(r.createdAt)}>{relativeTime(r.createdAt)}</td>
                <td>{r.author}</td>
                <td>
                  {r.rollbackOf !== null ? <span className="badge badge-info">rollback to v{r.rollbackOf}</span> : null}{" "}
                  <StageBadge revision={r} /> {r.comment ?? <span className="muted">—</span>}
                </td>
                <td className="num">{r.originCount}</td>
                <td>
                  <ModeBadge mode={r.mode} />
                </td>
                {canWrite ? (
                  <td>
                    {r.version !== currentVersion ? (
                      <button
                        type="button"
                        className="btn btn-sm"
                        onClick={() => setRollbackTarget(r.version)}
                        aria-label={`Roll back to version ${r.version}`}
                      >
                        Roll back…
                      </button>
                    ) : null}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rollbackTarget !== null ? (
        <RollbackConfirm
          slug={slug}
          version={rollbackTarget}
          currentVersion={currentVersion}
          editorDirty={editorDirty}
          onClose={() => setRollbackTarget(null)}
        />
      ) : null}
      {to !== null ? <Comparison slug={slug} from={from} to={to} /> : null}
    </div>
  );
}

function Comparison({ slug, from, to }: { slug: string; from: number | null; to: number }) {
  const revision = useQuery(revisionQuery(slug, to, from));
  return (
    <section className="panel" aria-label="Comparison">
      <h3 className="h4">
        {from === null ? `Version ${to} (first revision)` : `Changes from v${from} to v${to}`}
        {from !== null && from > to ? <span className="small muted"> (comparing backwards)</span> : null}
      </h3>
      {revision.isPending ? (
        <Loading />
      ) : revision.isError ? (
        <ErrorState error={revision.error} onRetry={() => revision.refetch()} />
      ) : (
        <>
          <p className="small muted">
            v{revision.data.version} by {revision.data.author}, {absoluteTime(revision.data.createdAt)}
            {revision.data.comment ? <> — “{revision.data.comment}”</> : null}
          </p>
          <DiffView diff={revision.data.diff} emptyText="These two revisions are identical." />
        </>
      )}
    </section>
  );
}

function RollbackConfirm({
  slug,
  version,
  currentVersion,
  editorDirty,
  onClose,
}: {
  slug: string;
  version: number;
  currentVersion: number;
  editorDirty: boolean;
  onClose: () => void;
}) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [comment, setComment] = useState("");
  const preview = useQuery(revisionQuery(slug, version, currentVersion));
  const rollback = useMutation({
    mutationFn: () =>
      api<VersionedPolicyDocument & { changed: boolean; warnings: unknown[] }>(
        `/api/v1/tenants/${encodeURIComponent(slug)}/revisions/${version}/rollback`,
        { method: "POST", headers: { "If-Match": `"${currentVersion}"` }, body: { comment: comment.trim() || null } },
      ),
    onSuccess: async ({ warnings: _warnings, changed, ...saved }) => {
      if (changed) toast.success(`Rolled back: version ${saved.version} restores version ${version}`);
      else toast.info(`Nothing to roll back: version ${saved.version} already equals version ${version}`);
      onClose();
      await policySaved(queryClient, slug, saved);
    },
    onError: (error) => toast.error(error.message),
  });
  return (
    <section className="panel panel-warn" aria-label={`Roll back to version ${version}`}>
      <h3 className="h4">
        Roll back to v{version} (creates v{currentVersion + 1})
      </h3>
      <p className="small">
        This changes what every gateway enforces within a second. It applies these changes to the current v
        {currentVersion}:
      </p>
      {preview.isPending ? (
        <Loading />
      ) : preview.isError ? (
        <ErrorState error={preview.error} />
      ) : (
        // The preview is v{version} against the current one: exactly what the rollback changes.
        <DiffView
          diff={preview.data.diff}
          emptyText="Identical to the current version: the rollback changes nothing."
        />
      )}
      {editorDirty ? (
        <p className="callout callout-warn">
          You have unsaved edits in the editor; after the rollback they will conflict and you can re-apply them.
        </p>
      ) : null}
      <div className="form-row">
        <label className="field grow">
          <span className="label">Comment</span>
          <input
            value={comment}
            onChange={(e) => setComment(e.target.value)}
            maxLength={500}
            placeholder={`Rollback to version ${version}`}
          />
        </label>
      </div>
      <div className="form-actions">
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => rollback.mutate()}
          disabled={rollback.isPending}
        >
          {rollback.isPending ? "Rolling back…" : `Confirm rollback to v${version}`}
        </button>
        <button type="button" className="btn" onClick={onClose}>
          Cancel
        </button>
      </div>
    </section>
  );
}
