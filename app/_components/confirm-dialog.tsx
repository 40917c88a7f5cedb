"use client";
/**
 * A modal confirmation (native <dialog>: focus moves in, Escape cancels, focus returns to
 * where it was). Open while `open` is true; the parent decides what confirming does.
 * The confirm button gets focus first: the user already asked for the change once, and
 * Escape or Cancel are one key away.
 */
import { type ReactNode, useEffect, useId, useRef } from "react";

export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  onConfirm,
  onCancel,
  pending = false,
  danger = false,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
  pending?: boolean;
  danger?: boolean;
}) {
  const id = useId();
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);

  return (
    <dialog
      ref={ref}
      className="audit-dialog"
      aria-labelledby={`${id}-title`}
      // Escape, or close() after a confirm/cancel: both end here once.
      onClose={() => {
        if (open) onCancel();
      }}
    >
      {open ? (
        <div className="audit-dialog-body">
          <h2 id={`${id}-title`} className="h3">
            {title}
          </h2>
          {children}
          <div className="form-actions">
            <button
              type="button"
              className={danger ? "btn btn-danger" : "btn btn-primary"}
              onClick={onConfirm}
              disabled={pending}
              // biome-ignore lint/a11y/noAutofocus: the dialog's one expected action, see the header
              autoFocus
            >
              {confirmLabel}
            </button>
            <button type="button" className="btn" onClick={onCancel}>
              Cancel
            </button>
          </div>
        </div>
      ) : null}
    </dialog>
  );
}
