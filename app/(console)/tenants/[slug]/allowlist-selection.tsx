"use client";
/**
 * Selecting allowlist rows: the header checkbox (all shown rows, some or none) and the bar
 * that acts on the selection (remove, set or clear the expiry).
 */
import { useEffect, useRef, useState } from "react";
import styles from "./allowlist.module.css";
import { ExpiryInput } from "./expiry-input";

/** The header checkbox: all shown rows, some (indeterminate, a DOM-only state) or none. */
export function SelectAll({
  checked,
  indeterminate,
  onChange,
}: {
  checked: boolean;
  indeterminate: boolean;
  onChange: (on: boolean) => void;
}) {
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.indeterminate = indeterminate;
  }, [indeterminate]);
  return (
    <input
      ref={ref}
      type="checkbox"
      aria-label="Select all shown entries"
      checked={checked}
      onChange={(e) => onChange(e.target.checked)}
    />
  );
}

/** What to do with the selected entries: remove them (undo until saved) or set their expiry. */
export function SelectionBar({
  count,
  onRemove,
  onExpire,
  onClear,
}: {
  count: number;
  onRemove: () => void;
  onExpire: (expiresAt: string | null) => void;
  onClear: () => void;
}) {
  const [expiry, setExpiry] = useState<string | null>(null);
  const [expiryError, setExpiryError] = useState<string | null>(null);
  const [typed, setTyped] = useState(false);
  const plural = count === 1 ? "entry" : "entries";
  return (
    <section className={`panel ${styles.selectionBar}`} aria-label="Selected entries">
      <strong role="status">
        {count} {plural} selected
      </strong>
      <button type="button" className="btn btn-danger-ghost btn-sm" onClick={onRemove}>
        Remove selected
      </button>
      <span className="field-inline">
        <ExpiryInput
          className="input-sm"
          label="Expiry for the selected entries"
          value={expiry}
          onChange={(iso) => {
            setExpiry(iso);
            setTyped(true);
          }}
          onValidity={(error) => {
            setExpiryError(error);
            setTyped(true);
          }}
        />
        <button
          type="button"
          className="btn btn-sm"
          disabled={!typed || expiryError !== null}
          onClick={() => onExpire(expiry)}
        >
          {expiry === null ? "Clear expiry of selected" : "Set expiry of selected"}
        </button>
      </span>
      <button type="button" className="btn btn-link btn-sm" onClick={onClear}>
        Clear selection
      </button>
    </section>
  );
}
