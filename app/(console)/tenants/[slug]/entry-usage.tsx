"use client";
/**
 * Least privilege over time: each allowlist entry's matches in the last N days and its last
 * match (GET .../policy/usage, from the audit rollup), and the entries unused for N days,
 * with one action to remove them or let them expire. Both actions only change the draft:
 * the save bar then shows the impact preview and saving makes a revision, like any edit.
 */
import { useQuery } from "@tanstack/react-query";
import { absoluteTime, relativeTime } from "@/app/_client/format";
import { entryUsageQuery } from "@/app/_client/queries";
import type { EntryUsage } from "@/app/_lib/policy/get-entry-usage";
import type { PolicyEditor } from "./use-policy-editor";

export const UNUSED_DAY_CHOICES = [7, 30, 90] as const;
/** Grace before an unused entry set to expire lapses (room to notice and undo). */
const EXPIRE_AFTER_DAYS = 7;
const number = new Intl.NumberFormat("en-US");

export function useEntryUsage(slug: string, days: number): Map<string, EntryUsage> | null {
  const usage = useQuery(entryUsageQuery(slug, days));
  if (!usage.data) return null;
  return new Map(usage.data.entries.map((e) => [e.pattern, e]));
}

export function UsageCell({ usage, days }: { usage: EntryUsage | undefined; days: number }) {
  if (!usage) return <span className="muted">—</span>;
  return (
    <span data-testid="entry-usage">
      {number.format(usage.hits)} in {days} d
      <br />
      <span className="muted" title={usage.lastMatch ? absoluteTime(usage.lastMatch) : undefined}>
        {usage.lastMatch ? `last ${relativeTime(usage.lastMatch)}` : "never matched"}
      </span>
      {usage.unused ? (
        <>
          {" "}
          <span className="badge badge-warn">unused</span>
        </>
      ) : null}
    </span>
  );
}

export function UnusedEntriesPanel({
  editor,
  usage,
  days,
  onDaysChange,
}: {
  editor: PolicyEditor;
  usage: Map<string, EntryUsage> | null;
  days: number;
  onDaysChange: (days: number) => void;
}) {
  const draft = editor.draft;
  if (!draft || !usage) return null;
  // Only entries still in the draft, and (for "expire") not already set to lapse.
  const unused = draft.origins.filter((o) => usage.get(o.pattern)?.unused);
  const withoutExpiry = unused.filter((o) => !o.expiresAt);
  const patterns = new Set(unused.map((o) => o.pattern));
  const remove = () => editor.update((d) => ({ ...d, origins: d.origins.filter((o) => !patterns.has(o.pattern)) }));
  const expire = () => {
    const at = new Date(Date.now() + EXPIRE_AFTER_DAYS * 86_400_000).toISOString();
    editor.update((d) => ({
      ...d,
      origins: d.origins.map((o) => (patterns.has(o.pattern) && !o.expiresAt ? { ...o, expiresAt: at } : o)),
    }));
  };
  return (
    <div className={`callout ${unused.length ? "callout-warn" : "callout-info"}`} data-testid="unused-entries">
      <div className="savebar-row">
        <span>
          <strong>
            {unused.length} entr{unused.length === 1 ? "y" : "ies"} unused
          </strong>{" "}
          (no match in the last{" "}
          <select
            aria-label="Unused for how many days"
            value={days}
            onChange={(e) => onDaysChange(Number(e.target.value))}
          >
            {UNUSED_DAY_CHOICES.map((d) => (
              <option key={d} value={d}>
                {d} days
              </option>
            ))}
          </select>
          )
        </span>
        {unused.length > 0 && editor.writable ? (
          <>
            <button type="button" className="btn btn-sm" onClick={remove}>
              Remove {unused.length} unused
            </button>
            {withoutExpiry.length > 0 ? (
              <button type="button" className="btn btn-sm" onClick={expire}>
                Expire {withoutExpiry.length} in {EXPIRE_AFTER_DAYS} days
              </button>
            ) : null}
          </>
        ) : null}
      </div>
      {unused.length > 0 ? (
        <ul className="impact-list small">
          {unused.slice(0, 10).map((o) => (
            <li key={o.pattern}>
              <code>{o.pattern}</code>
            </li>
          ))}
          {unused.length > 10 ? <li>…and {unused.length - 10} more</li> : null}
        </ul>
      ) : null}
    </div>
  );
}
