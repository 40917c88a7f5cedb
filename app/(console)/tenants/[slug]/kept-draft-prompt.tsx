"use client";
/** "You have unsaved changes from an earlier visit": restore them (onto the current version) or discard them. */
import { absoluteTime } from "@/app/_client/format";
import { diffSummary } from "@/app/_components/diff-view";
import { diffDocuments } from "@/server/domain/policy/diff-documents";
import type { PolicyEditor } from "./use-policy-editor";

export function KeptDraftPrompt({ editor }: { editor: PolicyEditor }) {
  const kept = editor.keptDraft;
  if (!kept || !editor.writable || !editor.base) return null;
  const summary = diffSummary(diffDocuments(kept.base, kept.draft));
  const stale = kept.baseVersion !== editor.base.version;
  return (
    <section className="callout callout-warn kept-draft" aria-labelledby="kept-draft-title" data-testid="kept-draft">
      <h2 id="kept-draft-title" className="h4">
        Unsaved changes from an earlier visit
      </h2>
      <p className="small">
        This browser kept changes you had not saved ({summary}), made on version {kept.baseVersion} at{" "}
        {absoluteTime(kept.savedAt)}.
        {stale
          ? ` Version ${editor.base.version} is current now: restoring re-applies your changes on top of it.`
          : null}
      </p>
      <div className="form-actions">
        <button type="button" className="btn btn-primary" onClick={editor.restoreKeptDraft}>
          Restore my changes
        </button>
        <button type="button" className="btn" onClick={editor.discardKeptDraft}>
          Discard them
        </button>
      </div>
    </section>
  );
}
