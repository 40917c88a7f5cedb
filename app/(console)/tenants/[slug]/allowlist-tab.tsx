"use client";
/**
 * Allowlist editor: add one (validated while typing by the gateway's own parsePattern),
 * bulk paste (a result per line), search, inline note and expiry, remove (with undo until
 * saved). Every row shows validatePolicy's errors and warnings for it, and its usage (matches
 * in the last N days, last match); entries unused for N days are flagged (entry-usage.tsx).
 */
import { useMemo, useState } from "react";
import type { PolicyOriginEntry } from "@/server/policy/browser";
import { absoluteTime, isoToLocalInput, localInputToIso, relativeTime } from "../../../_client/format";
import { Empty } from "../../../_components/status";
import { AddOriginForm } from "./add-origin-form";
import { BulkPaste } from "./bulk-paste";
import { UnusedEntriesPanel, UsageCell, useEntryUsage } from "./entry-usage";
import { kindLabel } from "./pattern-kind";
import type { PolicyEditor } from "./use-policy-editor";

const PAGE = 200;

export function AllowlistTab({ editor }: { editor: PolicyEditor }) {
  const canWrite = editor.writable;
  const [search, setSearch] = useState("");
  const [limit, setLimit] = useState(PAGE);
  const [bulkOpen, setBulkOpen] = useState(false);
  const [unusedDays, setUnusedDays] = useState(30);
  const usage = useEntryUsage(editor.slug, unusedDays);
  const draft = editor.draft;
  const base = editor.base;

  const baseByPattern = useMemo(() => new Map((base?.origins ?? []).map((o) => [o.pattern, o])), [base]);
  const draftPatterns = useMemo(() => new Set((draft?.origins ?? []).map((o) => o.pattern)), [draft]);
  const rows = useMemo(() => {
    const q = search.trim().toLowerCase();
    const all = (draft?.origins ?? []).map((entry, index) => ({ entry, index }));
    return q
      ? all.filter(({ entry }) => entry.pattern.includes(q) || (entry.note ?? "").toLowerCase().includes(q))
      : all;
  }, [draft, search]);
  const removed = useMemo(
    () => (base?.origins ?? []).filter((o) => !draftPatterns.has(o.pattern)),
    [base, draftPatterns],
  );

  if (!draft || !base) return null;

  const add = (entries: PolicyOriginEntry[]) => editor.update((d) => ({ ...d, origins: [...d.origins, ...entries] }));
  const setEntry = (index: number, change: Partial<PolicyOriginEntry>) =>
    editor.update((d) => ({ ...d, origins: d.origins.map((o, i) => (i === index ? { ...o, ...change } : o)) }));
  const remove = (index: number) => editor.update((d) => ({ ...d, origins: d.origins.filter((_, i) => i !== index) }));
  const now = Date.now();

  return (
    <div className="stack">
      {canWrite ? (
        <div className="panel">
          <AddOriginForm existing={draftPatterns} onAdd={(entry) => add([entry])} />
          <div className="form-actions">
            <button
              type="button"
              className="btn btn-link btn-sm"
              onClick={() => setBulkOpen((o) => !o)}
              aria-expanded={bulkOpen}
            >
              {bulkOpen ? "Close bulk paste" : "Bulk paste…"}
            </button>
          </div>
          {bulkOpen ? <BulkPaste existing={draftPatterns} onAdd={add} /> : null}
        </div>
      ) : editor.readOnly === "role" ? (
        <p className="callout callout-info">Read-only: your role can view this policy but not change it.</p>
      ) : null}

      {draft.origins.length > 0 ? (
        <UnusedEntriesPanel editor={editor} usage={usage} days={unusedDays} onDaysChange={setUnusedDays} />
      ) : null}

      <div className="toolbar">
        <label className="field field-inline">
          <span className="label">Search</span>
          <input
            type="search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder="pattern or note"
          />
        </label>
        <span className="muted">
          {rows.length} of {draft.origins.length} entr{draft.origins.length === 1 ? "y" : "ies"}
        </span>
      </div>

      {draft.origins.length === 0 ? (
        <Empty title="The allowlist is empty">
          Every browser origin is refused (origin_not_allowed).{" "}
          {canWrite ? "Add the origins of your web apps above." : ""}
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table" aria-label="Allowlist">
            <thead>
              <tr>
                <th>Pattern</th>
                <th>Kind</th>
                <th>Note</th>
                <th>Expires</th>
                <th>Usage</th>
                <th>Status</th>
                {canWrite ? <th aria-label="Actions" /> : null}
              </tr>
            </thead>
            <tbody>
              {rows.slice(0, limit).map(({ entry, index }) => {
                const old = baseByPattern.get(entry.pattern);
                const errors = [
                  ...(editor.errorsByPath.get(`origins[${index}]`) ?? []),
                  ...(editor.errorsByPath.get(`origins[${index}].pattern`) ?? []),
                  ...(editor.errorsByPath.get(`origins[${index}].note`) ?? []),
                  ...(editor.errorsByPath.get(`origins[${index}].expiresAt`) ?? []),
                ];
                const warnings = [
                  ...(editor.warningsByPath.get(`origins[${index}].pattern`) ?? []),
                  ...(editor.warningsByPath.get(`origins[${index}].expiresAt`) ?? []),
                ];
                const isNew = !old;
                const edited =
                  old &&
                  ((old.note ?? null) !== (entry.note ?? null) ||
                    (old.expiresAt ?? null) !== (entry.expiresAt ?? null));
                const expired = entry.expiresAt ? new Date(entry.expiresAt).getTime() <= now : false;
                return (
                  <tr
                    key={entry.pattern}
                    className={errors.length ? "row-error" : isNew ? "row-new" : edited ? "row-edited" : undefined}
                  >
                    <td className="mono pattern-cell">
                      {entry.pattern}
                      {errors.map((m) => (
                        <div key={m} className="field-error">
                          {m}
                        </div>
                      ))}
                      {warnings.map((m) => (
                        <div key={m} className="field-warning">
                          ⚠ {m}
                        </div>
                      ))}
                    </td>
                    <td className="small">{kindLabel(entry.pattern)}</td>
                    <td>
                      {canWrite ? (
                        <input
                          className="input-sm"
                          aria-label={`Note for ${entry.pattern}`}
                          value={entry.note ?? ""}
                          maxLength={500}
                          onChange={(e) => setEntry(index, { note: e.target.value === "" ? null : e.target.value })}
                        />
                      ) : (
                        (entry.note ?? <span className="muted">—</span>)
                      )}
                    </td>
                    <td>
                      {canWrite ? (
                        <span className="expiry-edit">
                          <input
                            type="datetime-local"
                            className="input-sm"
                            aria-label={`Expiry for ${entry.pattern}`}
                            value={isoToLocalInput(entry.expiresAt)}
                            onChange={(e) => setEntry(index, { expiresAt: localInputToIso(e.target.value) })}
                          />
                          {entry.expiresAt ? (
                            <button
                              type="button"
                              className="btn btn-ghost btn-sm"
                              aria-label={`Clear expiry of ${entry.pattern}`}
                              onClick={() => setEntry(index, { expiresAt: null })}
                            >
                              ×
                            </button>
                          ) : null}
                        </span>
                      ) : entry.expiresAt ? (
                        <span title={absoluteTime(entry.expiresAt)}>{relativeTime(entry.expiresAt)}</span>
                      ) : (
                        <span className="muted">never</span>
                      )}
                    </td>
                    <td className="small">
                      <UsageCell usage={usage?.get(entry.pattern)} days={unusedDays} />
                    </td>
                    <td className="small">
                      {isNew ? <span className="badge badge-info">new</span> : null}
                      {edited ? <span className="badge badge-info">edited</span> : null}
                      {expired ? (
                        <span className="badge badge-error">expired</span>
                      ) : entry.expiresAt ? (
                        <span className="badge badge-warn" title={absoluteTime(entry.expiresAt)}>
                          temporary · {relativeTime(entry.expiresAt)}
                        </span>
                      ) : null}
                    </td>
                    {canWrite ? (
                      <td>
                        <button
                          type="button"
                          className="btn btn-danger-ghost btn-sm"
                          aria-label={`Remove ${entry.pattern}`}
                          onClick={() => remove(index)}
                        >
                          Remove
                        </button>
                      </td>
                    ) : null}
                  </tr>
                );
              })}
            </tbody>
          </table>
          {rows.length > limit ? (
            <button type="button" className="btn btn-sm" onClick={() => setLimit((l) => l + 1000)}>
              Show more ({rows.length - limit} hidden)
            </button>
          ) : null}
        </div>
      )}

      {removed.length > 0 && canWrite ? (
        <div className="panel">
          <h3 className="h4">Removed (until you save)</h3>
          <ul className="plain-list">
            {removed.map((o) => (
              <li key={o.pattern} className="diff-remove">
                <code>{o.pattern}</code>{" "}
                <button
                  type="button"
                  className="btn btn-link btn-sm"
                  onClick={() => add([o])}
                  aria-label={`Undo removal of ${o.pattern}`}
                >
                  Undo
                </button>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </div>
  );
}
