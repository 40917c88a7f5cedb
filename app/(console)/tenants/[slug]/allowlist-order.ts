/**
 * The allowlist table's row order (unit-tested in tests/unit/allowlist-ergonomics.test.ts).
 *
 * "Added" is the server's own order (server/domain/policy/document.ts ORIGIN_ORDER: created_at,
 * then pattern), so what the table shows before a save is what it shows after: saved
 * entries keep the base version's order, and entries not saved yet come last sorted by
 * pattern, as one save stores them (they share one created_at). Draft order is not used:
 * it is the order of clicks, which a save does not keep.
 */
import type { PolicyOriginEntry } from "@/server/policy/browser";

export const ALLOWLIST_ORDERS = {
  added: "Added (oldest first)",
  "added-desc": "Added (newest first)",
  pattern: "Pattern (A → Z)",
  "pattern-desc": "Pattern (Z → A)",
} as const;
export type AllowlistOrder = keyof typeof ALLOWLIST_ORDERS;

export function isAllowlistOrder(value: unknown): value is AllowlistOrder {
  return typeof value === "string" && Object.hasOwn(ALLOWLIST_ORDERS, value);
}

const byPattern = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Indexes into `draft` in display order. */
export function orderAllowlist(
  draft: readonly PolicyOriginEntry[],
  base: readonly PolicyOriginEntry[],
  order: AllowlistOrder,
): number[] {
  const indexes = draft.map((_, i) => i);
  if (order === "pattern" || order === "pattern-desc") {
    const sign = order === "pattern" ? 1 : -1;
    return indexes.sort((a, b) => sign * byPattern(draft[a]!.pattern, draft[b]!.pattern));
  }
  const rank = new Map(base.map((o, i) => [o.pattern, i]));
  const added = (i: number) => rank.get(draft[i]!.pattern) ?? Number.POSITIVE_INFINITY;
  const sorted = indexes.sort((a, b) => added(a) - added(b) || byPattern(draft[a]!.pattern, draft[b]!.pattern));
  return order === "added" ? sorted : sorted.reverse();
}
