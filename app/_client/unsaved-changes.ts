"use client";
/**
 * useUnsavedChangesGuard: while `dirty`, leaving the page asks first — closing or reloading
 * the tab (the browser's own beforeunload prompt), following any in-app link (sidebar,
 * breadcrumbs, brand, account) and the browser's Back button.
 *
 * Why by hand: the App Router has no "route change start" event to veto. Links are caught
 * with one capture-phase click listener on the window, which runs before React's own
 * listener at the root (so next/link never sees a vetoed click). Back is caught with a guard
 * history entry: while dirty, one extra entry for the same URL (a copy of the current state,
 * so Next.js restores the same page if it pops to it) sits on top; Back pops it, and the
 * popstate listener asks — stay (the guard entry is pushed again) or leave (Back once more).
 *
 * A confirm() dialog rather than a custom one: it blocks the navigation synchronously, is
 * announced by screen readers, and is what browsers show for beforeunload anyway.
 */
import { useEffect, useRef } from "react";

export const LEAVE_MESSAGE = "You have unsaved policy changes. Leave this page and lose them?";

const GUARD_KEY = "__originGateGuard";

function isGuardEntry(state: unknown): boolean {
  return typeof state === "object" && state !== null && (state as Record<string, unknown>)[GUARD_KEY] === true;
}

/** True when a click on this anchor would navigate away from the current page (path or query). */
function leavesPage(anchor: HTMLAnchorElement, event: MouseEvent): boolean {
  if (event.defaultPrevented || event.button !== 0) return false;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return false; // a new tab or window
  if (anchor.target && anchor.target !== "_self") return false;
  if (anchor.hasAttribute("download")) return false;
  const href = anchor.getAttribute("href");
  if (!href || href.startsWith("#")) return false;
  const url = new URL(anchor.href, window.location.href);
  return (
    url.origin !== window.location.origin ||
    url.pathname !== window.location.pathname ||
    url.search !== window.location.search
  );
}

export function useUnsavedChangesGuard(dirty: boolean, message = LEAVE_MESSAGE): void {
  const leaving = useRef(false);

  useEffect(() => {
    if (!dirty) return;
    leaving.current = false;

    const onBeforeUnload = (event: BeforeUnloadEvent) => {
      if (leaving.current) return; // already confirmed (a link or Back that leaves the app)
      event.preventDefault();
      // Older browsers show the prompt only when returnValue is set.
      event.returnValue = "";
    };

    const onClick = (event: MouseEvent) => {
      const anchor = (event.target as Element | null)?.closest?.("a[href]");
      if (!(anchor instanceof HTMLAnchorElement) || !leavesPage(anchor, event)) return;
      if (window.confirm(message)) {
        leaving.current = true;
        return;
      }
      event.preventDefault();
      event.stopPropagation();
    };

    const pushGuard = () => {
      window.history.pushState({ ...(window.history.state ?? {}), [GUARD_KEY]: true }, "", window.location.href);
    };
    const onPopState = (event: PopStateEvent) => {
      if (leaving.current) return;
      // Popping *to* a guard entry is Forward after a stay: nothing to ask.
      if (isGuardEntry(event.state)) return;
      if (window.confirm(message)) {
        leaving.current = true;
        window.history.back();
      } else {
        pushGuard();
      }
    };

    if (!isGuardEntry(window.history.state)) pushGuard();
    window.addEventListener("beforeunload", onBeforeUnload);
    window.addEventListener("click", onClick, true);
    window.addEventListener("popstate", onPopState);
    return () => {
      window.removeEventListener("beforeunload", onBeforeUnload);
      window.removeEventListener("click", onClick, true);
      window.removeEventListener("popstate", onPopState);
    };
  }, [dirty, message]);
}
