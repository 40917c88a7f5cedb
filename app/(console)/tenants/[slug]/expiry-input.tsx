"use client";
/**
 * The allowlist's expiry control: one text field, so one Tab stop (parseExpiryText says what
 * it accepts). What is typed is kept while the field has focus; each valid value is passed
 * on at once (so a Save right after typing saves it), an invalid one is marked and not.
 * On blur the field shows the stored value again, formatted.
 */
import { useEffect, useId, useRef, useState } from "react";
import styles from "./allowlist.module.css";
import { EXPIRY_HINT, formatExpiryText, parseExpiryText } from "./parse-expiry-text";

export function ExpiryInput({
  value,
  onChange,
  label,
  id: inputId,
  className,
  onValidity,
}: {
  value: string | null | undefined;
  onChange: (iso: string | null) => void;
  /** The accessible name, e.g. "Expiry for https://app.example.com". */
  label?: string;
  /** For a visible <label htmlFor>, instead of `label`. */
  id?: string;
  className?: string;
  /** Told whether what is typed is valid (the add form refuses to add while it is not). */
  onValidity?: (error: string | null) => void;
}) {
  const id = useId();
  const [text, setText] = useState(formatExpiryText(value));
  const editing = useRef(false);
  const [error, setError] = useState<string | null>(null);

  // Follow the stored value when it changes elsewhere (undo, bulk expiry, discard), not
  // while the user is typing in this field.
  useEffect(() => {
    if (editing.current) return;
    setText(formatExpiryText(value));
    setError(null);
  }, [value]);

  function change(next: string) {
    setText(next);
    const parsed = parseExpiryText(next);
    const message = parsed.ok ? null : parsed.message;
    setError(message);
    onValidity?.(message);
    if (parsed.ok && parsed.iso !== (value ?? null)) onChange(parsed.iso);
  }

  return (
    <span className={styles.expiry}>
      <input
        id={inputId}
        className={className}
        aria-label={label}
        value={text}
        placeholder="never"
        title={`${EXPIRY_HINT} (your time zone)`}
        spellCheck={false}
        autoComplete="off"
        aria-invalid={error !== null}
        aria-describedby={error ? `${id}-error` : undefined}
        onFocus={() => {
          editing.current = true;
        }}
        onBlur={() => {
          editing.current = false;
          // A valid entry is shown as stored; an invalid one stays, marked, for correction.
          if (error === null) setText(formatExpiryText(value));
        }}
        onChange={(e) => change(e.target.value)}
      />
      {error ? (
        <span id={`${id}-error`} className="field-error small">
          {error}
        </span>
      ) : null}
    </span>
  );
}
