"use client";
/**
 * Allowlist editor: add one (validated while typing by the gateway's own parsePattern),
 * bulk paste (a result per line), search, inline note and expiry, remove (with undo until
 * saved). Every row shows validatePolicy's errors and warnings for it.
 */
import { type FormEvent, useId, useMemo, useState } from "react";
import type { PolicyOriginEntry } from "@/server/policy/browser";
import { parsePattern } from "@/server/policy/browser";
import { absoluteTime, isoToLocalInput, localInputToIso, relativeTime } from "../../../_client/format";
import { Empty } from "../../../_components/status";
import type { PolicyEditor } from "./use-policy-editor";

const PAGE = 200;

function kindLabel(pattern: string): string {
  const parsed = parsePattern(pattern);
  if (!parsed.ok) return "invalid";
  switch (parsed.value.kind) {
    case "exact":
      return "exact";
    case "wildcard":
      return "subdomains";
    case "any-port":
      return "any port";
    case "any":
      return "any origin";
    case "null":
      return "null origin";
  }
}

export function AllowlistTab({ editor }: { editor: PolicyEditor }) {
  const canWrite = editor.writable;
  const [search, setSearch] = useState("");
  const [limit, setLimit] = useState(PAGE);
  const [bulkOpen, setBulkOpen] = useState(false);
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

function AddOriginForm({ existing, onAdd }: { existing: Set<string>; onAdd: (entry: PolicyOriginEntry) => void }) {
  const id = useId();
  const [pattern, setPattern] = useState("");
  const [note, setNote] = useState("");
  const [expires, setExpires] = useState("");
  const [refused, setRefused] = useState<string | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  const parsed = pattern.trim() ? parsePattern(pattern) : null;
  const duplicate = parsed?.ok && existing.has(parsed.value.pattern);

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setAdded(null);
    if (!parsed) {
      setRefused("Type a pattern first.");
      return;
    }
    if (!parsed.ok) {
      setRefused(parsed.message);
      return;
    }
    if (duplicate) {
      setRefused(`${parsed.value.pattern} is already in the allowlist.`);
      return;
    }
    onAdd({ pattern: parsed.value.pattern, note: note.trim() || null, expiresAt: localInputToIso(expires) });
    setAdded(parsed.value.pattern);
    setRefused(null);
    setPattern("");
    setNote("");
    setExpires("");
  }

  let feedback: { kind: "error" | "ok" | "hint"; text: string };
  if (refused && (!parsed?.ok || duplicate)) feedback = { kind: "error", text: refused };
  else if (parsed && !parsed.ok) feedback = { kind: "error", text: parsed.message };
  else if (duplicate && parsed?.ok)
    feedback = { kind: "error", text: `${parsed.value.pattern} is already in the allowlist.` };
  else if (parsed?.ok && parsed.normalizedFrom !== undefined)
    feedback = { kind: "ok", text: `Will be stored as ${parsed.value.pattern}` };
  else if (parsed?.ok) feedback = { kind: "ok", text: `Valid: ${kindLabel(parsed.value.pattern)}` };
  else if (added) feedback = { kind: "ok", text: `Added ${added} — not saved yet.` };
  else
    feedback = {
      kind: "hint",
      text: "e.g. https://app.example.com · https://*.example.com · http://localhost:* · null · *",
    };

  return (
    <form className="form add-origin" onSubmit={submit} aria-label="Add an origin">
      <div className="form-row">
        <label className="field grow">
          <span className="label">Origin pattern</span>
          <input
            className="mono"
            value={pattern}
            onChange={(e) => {
              setPattern(e.target.value);
              setRefused(null);
            }}
            placeholder="https://app.example.com"
            spellCheck={false}
            autoComplete="off"
            aria-invalid={feedback.kind === "error"}
            aria-describedby={`${id}-feedback`}
          />
        </label>
        <label className="field">
          <span className="label">Note</span>
          <input value={note} onChange={(e) => setNote(e.target.value)} maxLength={500} placeholder="who / why" />
        </label>
        <label className="field">
          <span className="label">Expires (optional)</span>
          <input type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} />
        </label>
        <div className="field field-button">
          <button type="submit" className="btn btn-primary">
            Add
          </button>
        </div>
      </div>
      <div
        id={`${id}-feedback`}
        className={feedback.kind === "error" ? "field-error" : feedback.kind === "ok" ? "field-ok" : "field-hint"}
        role={feedback.kind === "error" ? "alert" : undefined}
        data-testid="pattern-feedback"
      >
        {feedback.text}
      </div>
    </form>
  );
}

interface LineResult {
  line: number;
  input: string;
  status: "added" | "normalized" | "duplicate" | "refused";
  message: string;
}

function BulkPaste({ existing, onAdd }: { existing: Set<string>; onAdd: (entries: PolicyOriginEntry[]) => void }) {
  const [text, setText] = useState("");
  const [results, setResults] = useState<LineResult[] | null>(null);

  function run() {
    const seen = new Set(existing);
    const entries: PolicyOriginEntry[] = [];
    const out: LineResult[] = [];
    text.split(/\r?\n/).forEach((raw, i) => {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) return;
      const space = line.search(/\s/);
      const patternText = space < 0 ? line : line.slice(0, space);
      const note = space < 0 ? null : line.slice(space).trim() || null;
      const parsed = parsePattern(patternText);
      if (!parsed.ok) {
        out.push({ line: i + 1, input: patternText, status: "refused", message: parsed.message });
        return;
      }
      const normalized = parsed.value.pattern;
      if (seen.has(normalized)) {
        out.push({
          line: i + 1,
          input: patternText,
          status: "duplicate",
          message: `${normalized} is already in the list`,
        });
        return;
      }
      seen.add(normalized);
      entries.push({ pattern: normalized, note, expiresAt: null });
      out.push(
        normalized === patternText
          ? { line: i + 1, input: patternText, status: "added", message: "added" }
          : { line: i + 1, input: patternText, status: "normalized", message: `added, normalised to ${normalized}` },
      );
    });
    if (entries.length > 0) onAdd(entries);
    setResults(out);
    if (entries.length > 0) setText("");
  }

  const counts = results
    ? {
        added: results.filter((r) => r.status === "added" || r.status === "normalized").length,
        refused: results.filter((r) => r.status === "refused").length,
        duplicate: results.filter((r) => r.status === "duplicate").length,
      }
    : null;

  return (
    <div className="bulk">
      <label className="field">
        <span className="label">
          One pattern per line; text after the pattern (separated by a space) becomes its note; # starts a comment
        </span>
        <textarea
          className="mono"
          rows={6}
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder={"https://app.example.com  main app\nhttps://*.staging.example.com\nhttp://localhost:*"}
          spellCheck={false}
        />
      </label>
      <div className="form-actions">
        <button type="button" className="btn" onClick={run} disabled={text.trim() === ""}>
          Add lines
        </button>
        {counts ? (
          <span className="small" role="status">
            {counts.added} added, {counts.duplicate} duplicate, {counts.refused} refused (not saved yet)
          </span>
        ) : null}
      </div>
      {results && results.length > 0 ? (
        <table className="table table-compact" aria-label="Bulk paste results">
          <thead>
            <tr>
              <th className="num">Line</th>
              <th>Input</th>
              <th>Result</th>
            </tr>
          </thead>
          <tbody>
            {results.map((r) => (
              <tr
                key={r.line}
                className={r.status === "refused" ? "row-error" : r.status === "duplicate" ? "row-warn" : undefined}
              >
                <td className="num">{r.line}</td>
                <td className="mono">{r.input}</td>
                <td className={r.status === "refused" ? "field-error" : undefined}>
                  {r.status === "refused" ? `refused: ${r.message}` : r.message}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
