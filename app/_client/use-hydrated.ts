"use client";
/**
 * useHydrated: false on the server and during hydration, true from the first client render
 * after it. Text that depends on the viewer's clock, time zone or locale ("5 s ago",
 * 14:03 local) cannot be rendered identically by the server, so components render a
 * fixed-zone stand-in (UTC) until this turns true — otherwise React throws away the page's
 * server HTML with error #418 (hydration text mismatch).
 */
import { useSyncExternalStore } from "react";

const subscribe = () => () => {};

export function useHydrated(): boolean {
  return useSyncExternalStore(
    subscribe,
    () => true,
    () => false,
  );
}
