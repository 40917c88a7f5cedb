/**
 * Plain-text rendering of a policy diff (server/policy/diff-documents.ts) for terminals and
 * pull-request comments: what `policy:apply` would change, Terraform-style —
 *
 *   + https://new.example.com  note "staging"  expires 2031-01-01T00:00:00.000Z
 *   - https://old.example.com
 *   ~ https://app.example.com  note "web" → "web app"
 *   ~ limits.maxConnections (Concurrent connections (tenant)): 10000 → 5000
 *
 * Values are shown as JSON so that a string, a number and null can never look alike, and
 * a note cannot inject a line break into the output. Pure.
 */
import type { PolicyDiff } from "../policy/diff-documents";
import { fieldTitle } from "../policy/document";

export interface DiffCounts {
  added: number;
  removed: number;
  changed: number;
  fields: number;
}

export function diffCounts(diff: PolicyDiff): DiffCounts {
  return {
    added: diff.origins.added.length,
    removed: diff.origins.removed.length,
    changed: diff.origins.changed.length,
    fields: diff.fields.length,
  };
}

/**
 * "allowlist: 1 to add, 2 to remove, 0 to change; settings: 1 to change" (a plan), or in
 * the past tense for what was applied; "no changes" when nothing differs.
 */
export function diffSummary(diff: PolicyDiff, tense: "plan" | "done" = "plan"): string {
  const c = diffCounts(diff);
  if (c.added + c.removed + c.changed + c.fields === 0) return "no changes";
  const [add, remove, change] =
    tense === "plan" ? ["to add", "to remove", "to change"] : ["added", "removed", "changed"];
  return `allowlist: ${c.added} ${add}, ${c.removed} ${remove}, ${c.changed} ${change}; settings: ${c.fields} ${change}`;
}

/** The diff as lines (no trailing newline); empty when nothing differs. */
export function formatDiff(diff: PolicyDiff): string[] {
  const lines: string[] = [];
  const { added, removed, changed } = diff.origins;
  if (added.length + removed.length + changed.length > 0) {
    lines.push("Allowlist:");
    for (const entry of added) lines.push(`  + ${entry.pattern}${extras(entry)}`);
    for (const entry of removed) lines.push(`  - ${entry.pattern}${extras(entry)}`);
    for (const change of changed) {
      const parts: string[] = [];
      if (change.before.note !== change.after.note) {
        parts.push(`note ${show(change.before.note)} → ${show(change.after.note)}`);
      }
      if (change.before.expiresAt !== change.after.expiresAt) {
        parts.push(`expires ${show(change.before.expiresAt)} → ${show(change.after.expiresAt)}`);
      }
      lines.push(`  ~ ${change.pattern}  ${parts.join("  ")}`);
    }
  }
  if (diff.fields.length > 0) {
    lines.push("Settings:");
    for (const field of diff.fields) {
      const title = fieldTitle(field.path);
      const label = title === field.path ? field.path : `${field.path} (${title})`;
      lines.push(`  ~ ${label}: ${show(field.before)} → ${show(field.after)}`);
    }
  }
  return lines;
}

function extras(entry: { note: string | null; expiresAt: string | null }): string {
  let text = "";
  if (entry.note !== null) text += `  note ${show(entry.note)}`;
  if (entry.expiresAt !== null) text += `  expires ${entry.expiresAt}`;
  return text;
}

function show(value: unknown): string {
  return JSON.stringify(value ?? null);
}
