"use client";
/**
 * Minimal toasts: success/error/info messages (optionally with one link) in a live region,
 * dismissed after a while.
 *
 * While a modal <dialog> is open (audit event details), the toasts render inside it: a modal
 * dialog sits in the browser's top layer above any z-index and makes the rest of the page
 * inert, so a toast outside it would be hidden under it and its link unclickable.
 */
import Link from "next/link";
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import { createPortal } from "react-dom";

type Kind = "success" | "error" | "info";
export interface ToastLink {
  href: string;
  label: string;
}
interface Toast {
  id: number;
  kind: Kind;
  message: string;
  link?: ToastLink;
}

const ToastContext = createContext<((kind: Kind, message: string, link?: ToastLink) => void) | null>(null);

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [host, setHost] = useState<HTMLDialogElement | null>(null);
  const next = useRef(1);
  useEffect(() => {
    const dialog = toasts.length > 0 ? openModalDialog() : null;
    setHost(dialog);
    if (!dialog) return;
    const onClose = () => setHost(null);
    dialog.addEventListener("close", onClose);
    return () => dialog.removeEventListener("close", onClose);
  }, [toasts]);
  const dismiss = useCallback((id: number) => setToasts((all) => all.filter((t) => t.id !== id)), []);
  const push = useCallback(
    (kind: Kind, message: string, link?: ToastLink) => {
      const id = next.current++;
      setToasts((all) => [...all.slice(-4), { id, kind, message, link }]);
      setTimeout(() => dismiss(id), kind === "error" || link ? 9000 : 5000);
    },
    [dismiss],
  );
  const list = (
    <div className="toasts" role="status" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className={`toast toast-${t.kind}`}>
          <span>
            {t.message}
            {t.link ? (
              <>
                {" "}
                <Link href={t.link.href}>{t.link.label}</Link>
              </>
            ) : null}
          </span>
          <button type="button" className="toast-close" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
  return (
    <ToastContext.Provider value={push}>
      {children}
      {host ? createPortal(list, host) : list}
    </ToastContext.Provider>
  );
}

function openModalDialog(): HTMLDialogElement | null {
  try {
    return document.querySelector<HTMLDialogElement>("dialog:modal");
  } catch {
    // A browser without :modal: the last open dialog is the modal one on these pages.
    const open = document.querySelectorAll<HTMLDialogElement>("dialog[open]");
    return open.item(open.length - 1);
  }
}

export function useToast() {
  const push = useContext(ToastContext);
  if (!push) throw new Error("useToast outside ToastProvider");
  return useMemo(
    () => ({
      success: (m: string, link?: ToastLink) => push("success", m, link),
      error: (m: string, link?: ToastLink) => push("error", m, link),
      info: (m: string, link?: ToastLink) => push("info", m, link),
    }),
    [push],
  );
}
