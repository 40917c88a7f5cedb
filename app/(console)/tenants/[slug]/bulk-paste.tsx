"use client";
/**
 * The allowlist editor's bulk paste: parseBulkPaste does the work; this shows a result per
 * line and keeps the refused lines in the box, each under a comment giving the reason, so
 * they can be corrected there.
 */
import { useRef, useState } from "react";
import type { PolicyOriginEntry } from "@/server/policy/browser";
import { type BulkLineResult, parseBulkPaste } from "./parse-bulk-paste";

export function BulkPaste({
  existing,
  onAdd,
}: {
  existing: Set<string>;
  onAdd: (entries: PolicyOriginEntry[]) => void;
}) {
  const [text, setText] = useState("");
  const [results, setResults] = useState<BulkLineResult[] | null>(null);
  const box = useRef<HTMLTextAreaElement>(null);

  function run() {
    const { entries, results: lines, refusedText } = parseBulkPaste(text, existing);
    if (entries.length > 0) onAdd(entries);
    setResults(lines);
    // What was added leaves the box; refused lines stay for correction, with their reasons.
    setText(refusedText);
    if (refusedText !== "") box.current?.focus();
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
          ref={box}
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
