/**
 * applyDiff: replays a set of changes (from diffDocuments) onto another document — how the
 * editor re-applies a user's pending edits on top of a version someone else saved
 * meanwhile. Origins are matched by pattern; a field change sets the leaf at its path to
 * the new value (any leaf of the document: no field list to keep in step). Paths that the
 * target's document does not have (a diff from a newer schema) are ignored. Pure and
 * browser-safe.
 */

import type { PolicyDiff } from "@/server/domain/policy/diff-documents";
import { leafValue, type PolicyDocument } from "@/server/policy/browser";

export function applyDiff(target: PolicyDocument, diff: PolicyDiff): PolicyDocument {
  const removed = new Set(diff.origins.removed.map((o) => o.pattern));
  const changed = new Map(diff.origins.changed.map((c) => [c.pattern, c.after]));
  const origins = target.origins
    .filter((o) => !removed.has(o.pattern))
    .map((o) => {
      const after = changed.get(o.pattern);
      return after ? { pattern: o.pattern, note: after.note, expiresAt: after.expiresAt } : o;
    });
  const present = new Map(origins.map((o, i) => [o.pattern, i]));
  for (const entry of diff.origins.added) {
    const index = present.get(entry.pattern);
    if (index === undefined) origins.push({ ...entry });
    else origins[index] = { ...entry };
  }
  // A deep copy of everything but the allowlist, then each changed leaf set in place.
  const { origins: _origins, ...settings } = target;
  const result = { ...structuredClone(settings), origins } as PolicyDocument;
  for (const field of diff.fields) {
    if (leafValue(result, field.path) === undefined) continue;
    const keys = field.path.split(".");
    const last = keys.pop() as string;
    let parent = result as unknown as Record<string, unknown>;
    for (const key of keys) parent = parent[key] as Record<string, unknown>;
    parent[last] = structuredClone(field.after);
  }
  return result;
}
