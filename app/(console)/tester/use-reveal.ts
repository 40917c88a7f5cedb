"use client";
/**
 * Brings a run's result into view when a new one arrives: scrolled to (smoothly unless the
 * user prefers reduced motion) and focused, so keyboard and screen-reader users land on it
 * too (the element needs tabIndex={-1}). `key` identifies the result; nothing happens for
 * null or the same key again.
 */
import { useEffect, useRef } from "react";

export function useReveal<T extends HTMLElement>(key: unknown) {
  const ref = useRef<T>(null);
  useEffect(() => {
    if (key === null || key === undefined) return;
    const element = ref.current;
    if (!element) return;
    const reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    element.scrollIntoView({ behavior: reduced ? "auto" : "smooth", block: "start" });
    element.focus({ preventScroll: true });
  }, [key]);
  return ref;
}
