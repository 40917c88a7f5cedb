"use client";
/** Minimal toasts: success/error/info messages (optionally with one link) in a live region, dismissed after a while. */
import Link from "next/link";
import { createContext, type ReactNode, useCallback, useContext, useMemo, useRef, useState } from "react";

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
  const next = useRef(1);
  const dismiss = useCallback((id: number) => setToasts((all) => all.filter((t) => t.id !== id)), []);
  const push = useCallback(
    (kind: Kind, message: string, link?: ToastLink) => {
      const id = next.current++;
      setToasts((all) => [...all.slice(-4), { id, kind, message, link }]);
      setTimeout(() => dismiss(id), kind === "error" || link ? 9000 : 5000);
    },
    [dismiss],
  );
  return (
    <ToastContext.Provider value={push}>
      {children}
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
    </ToastContext.Provider>
  );
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
