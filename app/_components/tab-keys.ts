/**
 * Keyboard support of a WAI-ARIA tab list (https://www.w3.org/WAI/ARIA/apg/patterns/tabs/):
 * the tab list is one Tab stop (roving tabindex: only the selected tab has tabIndex 0), and
 * Left/Right (wrapping), Home and End move to another tab, select it (automatic activation)
 * and focus it. Put `onKeyDown={(e) => onTabListKeyDown(e, ids, current, select)}` on the
 * element with role="tablist" and `tabIndex={id === current ? 0 : -1}` on each tab, whose
 * DOM id is `${idPrefix}${id}`.
 */
import type { KeyboardEvent } from "react";

export function nextTab<T extends string>(key: string, ids: readonly T[], current: T): T | null {
  const at = ids.indexOf(current);
  if (at < 0 || ids.length === 0) return null;
  switch (key) {
    case "ArrowRight":
      return ids[(at + 1) % ids.length]!;
    case "ArrowLeft":
      return ids[(at - 1 + ids.length) % ids.length]!;
    case "Home":
      return ids[0]!;
    case "End":
      return ids[ids.length - 1]!;
    default:
      return null;
  }
}

export function onTabListKeyDown<T extends string>(
  event: KeyboardEvent<HTMLElement>,
  ids: readonly T[],
  current: T,
  select: (id: T) => void,
  idPrefix = "tab-",
): void {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const target = nextTab(event.key, ids, current);
  if (target === null) return;
  event.preventDefault();
  select(target);
  document.getElementById(`${idPrefix}${target}`)?.focus();
}
