"use client";
/**
 * The allowlist editor's "add one origin" form: the pattern is checked while typing by the
 * gateway's own parser, and the feedback says what is wrong and how to write it, or which
 * normalised form will be stored.
 */
import { type FormEvent, useId, useState } from "react";
import { type PolicyOriginEntry, parsePattern } from "@/server/policy/browser";
import { ExpiryInput } from "./expiry-input";
import { kindLabel } from "./pattern-kind";

export function AddOriginForm({
  existing,
  onAdd,
}: {
  existing: Set<string>;
  onAdd: (entry: PolicyOriginEntry) => void;
}) {
  const id = useId();
  const [pattern, setPattern] = useState("");
  const [note, setNote] = useState("");
  const [expires, setExpires] = useState<string | null>(null);
  const [expiryError, setExpiryError] = useState<string | null>(null);
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
    if (expiryError) return; // shown under the field
    onAdd({ pattern: parsed.value.pattern, note: note.trim() || null, expiresAt: expires });
    setAdded(parsed.value.pattern);
    setRefused(null);
    setPattern("");
    setNote("");
    setExpires(null);
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
        <div className="field">
          <label className="label" htmlFor={`${id}-expires`}>
            Expires (optional)
          </label>
          <ExpiryInput id={`${id}-expires`} value={expires} onChange={setExpires} onValidity={setExpiryError} />
        </div>
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
