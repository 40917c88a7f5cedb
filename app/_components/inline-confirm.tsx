"use client";
/**
 * A destructive row action that asks once more in place: "Remove…" becomes
 * "Confirm removal" + "Cancel". The parent keeps which row is confirming, so opening one
 * row's confirmation closes any other.
 */

export function InlineConfirm(props: {
  confirming: boolean;
  onStart: () => void;
  onCancel: () => void;
  onConfirm: () => void;
  /** The first button, e.g. "Remove…". */
  label: string;
  /** Names the row for screen readers, e.g. "Remove alice@example.com". */
  ariaLabel: string;
  confirmLabel: string;
  cancelLabel?: string;
  pending?: boolean;
}) {
  if (!props.confirming) {
    return (
      <button
        type="button"
        className="btn btn-danger-ghost btn-sm"
        onClick={props.onStart}
        aria-label={props.ariaLabel}
      >
        {props.label}
      </button>
    );
  }
  return (
    <span className="inline-confirm">
      <button type="button" className="btn btn-danger btn-sm" onClick={props.onConfirm} disabled={props.pending}>
        {props.confirmLabel}
      </button>
      <button type="button" className="btn btn-sm" onClick={props.onCancel}>
        {props.cancelLabel ?? "Cancel"}
      </button>
    </span>
  );
}
