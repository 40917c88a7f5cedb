/**
 * diffDocuments: what changed between two policy documents — allowlist entries added,
 * removed and changed (note or expiry; matched by normalised pattern, so order does not
 * matter) and every other field that changed. The fields are not listed here: every leaf
 * of the document (document.ts `documentLeaves`) is compared, so a field added to the
 * schema shows up in diffs by itself. Pure and browser-safe: the API's revision endpoint,
 * the history page's "compare any two revisions", the save path's "nothing changed" check
 * and `ctl policy:plan` use this one function.
 */
import { documentLeaves, leafValue, type PolicyDocument, type PolicyOriginEntry } from "./document";

export interface OriginChange {
  pattern: string;
  before: { note: string | null; expiresAt: string | null };
  after: { note: string | null; expiresAt: string | null };
}

export interface FieldChange {
  /** A leaf path such as `limits.maxConnections` or `cors.methods`. */
  path: string;
  before: unknown;
  after: unknown;
}

export interface PolicyDiff {
  origins: { added: PolicyOriginEntry[]; removed: PolicyOriginEntry[]; changed: OriginChange[] };
  fields: FieldChange[];
}

export function diffDocuments(before: PolicyDocument | null, after: PolicyDocument): PolicyDiff {
  const oldByPattern = new Map((before?.origins ?? []).map((o) => [o.pattern, o]));
  const newByPattern = new Map(after.origins.map((o) => [o.pattern, o]));
  const added = after.origins.filter((o) => !oldByPattern.has(o.pattern));
  const removed = (before?.origins ?? []).filter((o) => !newByPattern.has(o.pattern));
  const changed: OriginChange[] = [];
  for (const entry of after.origins) {
    const old = oldByPattern.get(entry.pattern);
    if (!old) continue;
    if (old.note !== entry.note || !sameInstant(old.expiresAt, entry.expiresAt)) {
      changed.push({
        pattern: entry.pattern,
        before: { note: old.note, expiresAt: old.expiresAt },
        after: { note: entry.note, expiresAt: entry.expiresAt },
      });
    }
  }
  const fields: FieldChange[] = [];
  for (const { path, value } of documentLeaves(after)) {
    const previous = before ? leafValue(before, path) : undefined;
    if (!before || !sameValue(previous, value)) {
      fields.push({ path, before: before ? (previous ?? null) : null, after: value });
    }
  }
  return { origins: { added, removed, changed }, fields };
}

export function isEmptyDiff(diff: PolicyDiff): boolean {
  return (
    diff.origins.added.length === 0 &&
    diff.origins.removed.length === 0 &&
    diff.origins.changed.length === 0 &&
    diff.fields.length === 0
  );
}

/** Leaves are scalars, null or lists of scalars: compared by their JSON text. */
function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function sameInstant(a: string | null, b: string | null): boolean {
  if (!a || !b) return a === b;
  return new Date(a).getTime() === new Date(b).getTime();
}
