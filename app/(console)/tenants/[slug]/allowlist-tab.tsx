"use client";
/**
 * Allowlist editor: add one (validated while typing by the gateway's own parsePattern),
 * bulk paste (a result per line), search, an order that a save does not change, inline
 * note and expiry (one field, one Tab stop), select rows to remove or give an expiry
 * together, remove (with undo until saved). Every row shows validatePolicy's errors and
 * warnings for it, and its usage (matches in the last N days, last match); entries unused for
 * N days are flagged (entry-usage.tsx). A row is allowlist-row.tsx; selecting rows and acting
 * on them, allowlist-selection.tsx.
 */
import { useMemo, useState } from "react";
import { Empty } from "@/app/_components/status";
import type { PolicyOriginEntry } from "@/server/policy/browser";
import { AddOriginForm } from "./add-origin-form";
import styles from "./allowlist.module.css";
import { ALLOWLIST_ORDERS, type AllowlistOrder, isAllowlistOrder, orderAllowlist } from "./allowlist-order";
import { AllowlistRow } from "./allowlist-row";
import { SelectAll, SelectionBar } from "./allowlist-selection";
import { BulkPaste } from "./bulk-paste";
import { UnusedEntriesPanel, useEntryUsage } from "./entry-usage";
import type { PolicyEditor } from "./use-policy-editor";

const PAGE = 200;

export function AllowlistTab({ editor }: { editor: PolicyEditor }) {
  const canWrite = editor.writable;
  const [search, setSearch] = useState("");
  const [order, setOrder] = useState<AllowlistOrder>("added");
  const [limit, setLimit] = useState(PAGE);
  const [bulkOpen, setBulkOpen] = useState(false);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [unusedDays, setUnusedDays] = useState(30);
  const usage = useEntryUsage(editor.slug, unusedDays);
  const draft = editor.draft;
  const base = editor.base;

  const baseByPattern = useMemo(() => new Map((base?.origins ?? []).map((o) => [o.pattern, o])), [base]);
  const draftPatterns = useMemo(() => new Set((draft?.origins ?? []).map((o) => o.pattern)), [draft]);
  const rows = useMemo(() => {
    const q = search.trim().toLowerCase();
    const origins = draft?.origins ?? [];
    const all = orderAllowlist(origins, base?.origins ?? [], order).map((index) => ({
      entry: origins[index]!,
      index,
    }));
    return q
      ? all.filter(({ entry }) => entry.pattern.includes(q) || (entry.note ?? "").toLowerCase().includes(q))
      : all;
  }, [draft, base, search, order]);
  const removed = useMemo(
    () => (base?.origins ?? []).filter((o) => !draftPatterns.has(o.pattern)),
    [base, draftPatterns],
  );
  // A selection only ever holds entries that are in the list (removed, discarded or saved
  // away by someone else: dropped).
  const liveSelection = useMemo(
    () => new Set([...selected].filter((p) => draftPatterns.has(p))),
    [selected, draftPatterns],
  );
  const shown = rows.slice(0, limit);
  const allShownSelected = shown.length > 0 && shown.every(({ entry }) => liveSelection.has(entry.pattern));
  const someShownSelected = shown.some(({ entry }) => liveSelection.has(entry.pattern));

  if (!draft || !base) return null;

  const add = (entries: PolicyOriginEntry[]) => editor.update((d) => ({ ...d, origins: [...d.origins, ...entries] }));
  const setEntry = (index: number, change: Partial<PolicyOriginEntry>) =>
    editor.update((d) => ({ ...d, origins: d.origins.map((o, i) => (i === index ? { ...o, ...change } : o)) }));
  const remove = (index: number) => editor.update((d) => ({ ...d, origins: d.origins.filter((_, i) => i !== index) }));
  const removeSelected = () => {
    editor.update((d) => ({ ...d, origins: d.origins.filter((o) => !liveSelection.has(o.pattern)) }));
    setSelected(new Set());
  };
  const expireSelected = (expiresAt: string | null) =>
    editor.update((d) => ({
      ...d,
      origins: d.origins.map((o) => (liveSelection.has(o.pattern) ? { ...o, expiresAt } : o)),
    }));
  const toggle = (pattern: string, on: boolean) =>
    setSelected((current) => {
      const next = new Set(current);
      if (on) next.add(pattern);
      else next.delete(pattern);
      return next;
    });
  const toggleShown = (on: boolean) =>
    setSelected((current) => {
      const next = new Set(current);
      for (const { entry } of shown) {
        if (on) next.add(entry.pattern);
        else next.delete(entry.pattern);
      }
      return next;
    });
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
        <label className="field field-inline">
          <span className="label">Order</span>
          <select
            value={order}
            onChange={(e) => {
              if (isAllowlistOrder(e.target.value)) setOrder(e.target.value);
            }}
          >
            {Object.entries(ALLOWLIST_ORDERS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <span className="muted">
          {rows.length} of {draft.origins.length} entr{draft.origins.length === 1 ? "y" : "ies"}
        </span>
      </div>

      {canWrite && liveSelection.size > 0 ? (
        <SelectionBar
          count={liveSelection.size}
          onRemove={removeSelected}
          onExpire={expireSelected}
          onClear={() => setSelected(new Set())}
        />
      ) : null}

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
                {canWrite ? (
                  <th className={styles.selectCell}>
                    <SelectAll
                      checked={allShownSelected}
                      indeterminate={someShownSelected && !allShownSelected}
                      onChange={toggleShown}
                    />
                  </th>
                ) : null}
                <th aria-sort={order === "pattern" ? "ascending" : order === "pattern-desc" ? "descending" : undefined}>
                  Pattern
                </th>
                <th>Kind</th>
                <th>Note</th>
                <th>Expires</th>
                <th>Usage</th>
                <th>Status</th>
                {canWrite ? <th aria-label="Actions" /> : null}
              </tr>
            </thead>
            <tbody>
              {shown.map(({ entry, index }) => (
                <AllowlistRow
                  key={entry.pattern}
                  editor={editor}
                  entry={entry}
                  index={index}
                  saved={baseByPattern.get(entry.pattern)}
                  selected={liveSelection.has(entry.pattern)}
                  onSelect={(on) => toggle(entry.pattern, on)}
                  onChange={(change) => setEntry(index, change)}
                  onRemove={() => remove(index)}
                  usage={usage?.get(entry.pattern)}
                  usageDays={unusedDays}
                  now={now}
                />
              ))}
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
