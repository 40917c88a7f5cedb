"use client";
/**
 * Unsaved changes: summary, impact preview, comment, Save/Discard; and the conflict panel
 * after a 409. A change that would refuse recorded traffic (the impact preview's
 * `newlyRefused`), or whose impact could not be computed, asks for a second confirmation
 * before it is saved.
 */
import { useEffect, useState } from "react";
import { relativeTime } from "@/app/_client/format";
import { DiffView, diffSummary } from "@/app/_components/diff-view";
import { ImpactSummary, useImpactPreview } from "./impact-preview";
import type { PolicyEditor } from "./use-policy-editor";

const number = new Intl.NumberFormat("en-US");

export function SaveBar({ editor }: { editor: PolicyEditor }) {
  const [showChanges, setShowChanges] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const previewWanted = editor.writable && editor.dirty && editor.errorCount === 0 && !editor.conflict;
  const impact = useImpactPreview(editor.slug, editor.base?.version ?? null, editor.draft, previewWanted);
  // A confirmation is for one draft: any further edit asks again.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset on every change of the draft
  useEffect(() => setConfirming(false), [editor.draft]);
  if (!editor.writable) return null;
  const { conflict } = editor;
  if (conflict) {
    return (
      <section className="savebar savebar-conflict" aria-label="Edit conflict">
        <div role="alert">
          <h2 className="h3">
            Conflict: version {conflict.currentVersion} was saved while you edited version {conflict.expectedVersion}
          </h2>
        </div>
        <ul className="small">
          {conflict.changedSince.map((r) => (
            <li key={r.version}>
              v{r.version} by <strong>{r.author}</strong> {relativeTime(r.createdAt)}
              {r.comment ? <> — “{r.comment}”</> : null}
            </li>
          ))}
        </ul>
        <div className="two-col">
          <div>
            <h3 className="h4">
              Their changes (v{conflict.expectedVersion} → v{conflict.currentVersion})
            </h3>
            <DiffView diff={conflict.diff} />
          </div>
          <div>
            <h3 className="h4">Your unsaved changes</h3>
            {editor.pending ? <DiffView diff={editor.pending} /> : null}
          </div>
        </div>
        <div className="form-actions">
          <button type="button" className="btn btn-primary" onClick={editor.reapply}>
            Re-apply my changes on v{conflict.currentVersion}
          </button>
          <button type="button" className="btn" onClick={editor.takeTheirs}>
            Discard mine, load v{conflict.currentVersion}
          </button>
        </div>
      </section>
    );
  }
  if (!editor.dirty || !editor.pending || !editor.base) {
    return editor.newerVersion ? (
      <div className="callout callout-info">Version {editor.newerVersion} is loading…</div>
    ) : null;
  }
  const needsConfirmation = impact.refusals > 0 || Boolean(impact.error);
  const requestSave = () => {
    if (editor.saving || impact.pending) return;
    if (needsConfirmation && !confirming) {
      setConfirming(true);
      return;
    }
    setConfirming(false);
    editor.save();
  };
  return (
    <section className="savebar" aria-label="Unsaved changes">
      <div className="savebar-row">
        <strong>Unsaved:</strong> <span data-testid="pending-summary">{diffSummary(editor.pending)}</span>
        <button
          type="button"
          className="btn btn-link btn-sm"
          onClick={() => setShowChanges((s) => !s)}
          aria-expanded={showChanges}
        >
          {showChanges ? "Hide changes" : "Review changes"}
        </button>
        {editor.errorCount > 0 ? (
          <span className="badge badge-error">
            {editor.errorCount} error{editor.errorCount === 1 ? "" : "s"}
          </span>
        ) : null}
        {editor.newerVersion ? (
          <span className="badge badge-warn">v{editor.newerVersion} exists: saving will show what changed</span>
        ) : null}
      </div>
      {showChanges ? <DiffView diff={editor.pending} /> : null}
      {editor.errorCount === 0 ? <ImpactSummary impact={impact} /> : null}
      {confirming ? (
        <div className="callout callout-error small" role="alert" data-testid="impact-confirm">
          {impact.error
            ? "The impact of this change could not be checked against recorded traffic."
            : `This change would refuse ${number.format(impact.refusals)} connection${impact.refusals === 1 ? "" : "s"} that the current version admitted.`}{" "}
          Save anyway?{" "}
          <button type="button" className="btn btn-danger btn-sm" onClick={requestSave} disabled={editor.saving}>
            Yes, save v{editor.base.version + 1}
          </button>{" "}
          <button type="button" className="btn btn-sm" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      ) : null}
      <div className="savebar-row">
        <label className="field field-inline grow">
          <span className="label">Comment</span>
          <input
            value={editor.comment}
            onChange={(e) => editor.setComment(e.target.value)}
            maxLength={500}
            placeholder="Why this change (shown in the history)"
            onKeyDown={(e) => {
              if (e.key === "Enter") requestSave();
            }}
          />
        </label>
        <button
          type="button"
          className="btn btn-primary"
          onClick={requestSave}
          disabled={editor.saving || editor.errorCount > 0 || impact.pending}
        >
          {editor.saving ? "Saving…" : impact.pending ? "Checking impact…" : `Save as v${editor.base.version + 1}`}
        </button>
        <button
          type="button"
          className="btn"
          onClick={editor.publishShadow}
          disabled={editor.saving || editor.errorCount > 0}
          title="Every gateway keeps enforcing the active version and records where this one would decide differently"
        >
          {editor.publishing ? "Publishing…" : "Publish as shadow"}
        </button>
        <button type="button" className="btn" onClick={editor.discard} disabled={editor.saving}>
          Discard
        </button>
      </div>
    </section>
  );
}
