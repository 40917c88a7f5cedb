"use client";
/**
 * One row of the allowlist editor: the entry with validatePolicy's errors and warnings for
 * it, its kind, note and expiry (edited inline when the policy is writable), its usage, and
 * whether it is new, edited, temporary or expired against the saved version.
 */
import { absoluteTime, relativeTime } from "@/app/_client/format";
import type { EntryUsage } from "@/app/_lib/policy/get-entry-usage";
import type { PolicyOriginEntry } from "@/server/policy/browser";
import styles from "./allowlist.module.css";
import { UsageCell } from "./entry-usage";
import { ExpiryInput } from "./expiry-input";
import { FieldMessages } from "./field-messages";
import { kindLabel } from "./pattern-kind";
import type { PolicyEditor } from "./use-policy-editor";

export function AllowlistRow({
  editor,
  entry,
  index,
  saved,
  selected,
  onSelect,
  onChange,
  onRemove,
  usage,
  usageDays,
  now,
}: {
  editor: PolicyEditor;
  entry: PolicyOriginEntry;
  /** Its index in the draft's allowlist (validation paths are `origins[<index>]…`). */
  index: number;
  /** The entry with the same pattern in the saved version (none: it is new). */
  saved: PolicyOriginEntry | undefined;
  selected: boolean;
  onSelect: (on: boolean) => void;
  onChange: (change: Partial<PolicyOriginEntry>) => void;
  onRemove: () => void;
  usage: EntryUsage | undefined;
  usageDays: number;
  now: number;
}) {
  const errors = [
    ...(editor.errorsByPath.get(`origins[${index}]`) ?? []),
    ...(editor.errorsByPath.get(`origins[${index}].pattern`) ?? []),
    ...(editor.errorsByPath.get(`origins[${index}].note`) ?? []),
    ...(editor.errorsByPath.get(`origins[${index}].expiresAt`) ?? []),
  ];
  const warnings = [
    ...(editor.warningsByPath.get(`origins[${index}].pattern`) ?? []),
    ...(editor.warningsByPath.get(`origins[${index}].expiresAt`) ?? []),
  ];
  const isNew = !saved;
  const edited =
    saved && ((saved.note ?? null) !== (entry.note ?? null) || (saved.expiresAt ?? null) !== (entry.expiresAt ?? null));
  const expired = entry.expiresAt ? new Date(entry.expiresAt).getTime() <= now : false;
  return (
    <tr
      className={
        errors.length ? "row-error" : selected ? "row-selected" : isNew ? "row-new" : edited ? "row-edited" : undefined
      }
    >
      {editor.writable ? (
        <td className={styles.selectCell}>
          <input
            type="checkbox"
            aria-label={`Select ${entry.pattern}`}
            checked={selected}
            onChange={(e) => onSelect(e.target.checked)}
          />
        </td>
      ) : null}
      <td className="mono pattern-cell">
        {entry.pattern}
        <FieldMessages errors={errors} warnings={warnings} />
      </td>
      <td className="small">{kindLabel(entry.pattern)}</td>
      <td>
        {editor.writable ? (
          <input
            className="input-sm"
            aria-label={`Note for ${entry.pattern}`}
            value={entry.note ?? ""}
            maxLength={500}
            onChange={(e) => onChange({ note: e.target.value === "" ? null : e.target.value })}
          />
        ) : (
          (entry.note ?? <span className="muted">—</span>)
        )}
      </td>
      <td>
        {editor.writable ? (
          <ExpiryInput
            className="input-sm"
            label={`Expiry for ${entry.pattern}`}
            value={entry.expiresAt}
            onChange={(expiresAt) => onChange({ expiresAt })}
          />
        ) : entry.expiresAt ? (
          <span title={absoluteTime(entry.expiresAt)}>{relativeTime(entry.expiresAt)}</span>
        ) : (
          <span className="muted">never</span>
        )}
      </td>
      <td className="small">
        <UsageCell usage={usage} days={usageDays} />
      </td>
      <td className="small">
        {isNew ? <span className="badge badge-info">new</span> : null}
        {edited ? <span className="badge badge-info">edited</span> : null}
        {expired ? (
          <span className="badge badge-error">expired</span>
        ) : entry.expiresAt ? (
          <span className="badge badge-warn" title={absoluteTime(entry.expiresAt)}>
            temporary · {relativeTime(entry.expiresAt)}
          </span>
        ) : null}
      </td>
      {editor.writable ? (
        <td>
          <button
            type="button"
            className="btn btn-danger-ghost btn-sm"
            aria-label={`Remove ${entry.pattern}`}
            onClick={onRemove}
          >
            Remove
          </button>
        </td>
      ) : null}
    </tr>
  );
}
