"use client";
/** Unsaved changes: summary, comment, Save/Discard; and the conflict panel after a 409. */
import { useState } from "react";
import { relativeTime } from "../../../_client/format";
import { DiffView, diffSummary } from "../../../_components/diff-view";
import type { PolicyEditor } from "./use-policy-editor";

export function SaveBar({ editor }: { editor: PolicyEditor }) {
  const [showChanges, setShowChanges] = useState(false);
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
      <div className="savebar-row">
        <label className="field field-inline grow">
          <span className="label">Comment</span>
          <input
            value={editor.comment}
            onChange={(e) => editor.setComment(e.target.value)}
            maxLength={500}
            placeholder="Why this change (shown in the history)"
            onKeyDown={(e) => {
              if (e.key === "Enter") editor.save();
            }}
          />
        </label>
        <button
          type="button"
          className="btn btn-primary"
          onClick={editor.save}
          disabled={editor.saving || editor.errorCount > 0}
        >
          {editor.saving ? "Saving…" : `Save as v${editor.base.version + 1}`}
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
