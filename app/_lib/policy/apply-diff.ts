/**
 * applyDiff: replays a set of changes (from diffDocuments) onto another document — how the
 * editor re-applies a user's pending edits on top of a version someone else saved
 * meanwhile. Origins are matched by pattern; a field change sets the field to its new value.
 * Pure and browser-safe.
 */
import type { PolicyLimits } from "../../../server/policy/types";
import type { PolicyDiff } from "./diff-documents";
import type { StoredPolicyDocument } from "./document";

export function applyDiff(target: StoredPolicyDocument, diff: PolicyDiff): StoredPolicyDocument {
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
  const result: StoredPolicyDocument = {
    ...target,
    origins,
    subprotocols: [...target.subprotocols],
    limits: { ...target.limits },
  };
  for (const field of diff.fields) {
    if (field.path.startsWith("limits.")) {
      const key = field.path.slice("limits.".length) as keyof PolicyLimits;
      if (typeof field.after === "number") result.limits[key] = field.after;
    } else if (field.path === "subprotocols" && Array.isArray(field.after)) {
      result.subprotocols = field.after.map(String);
    } else if (
      field.path === "mode" ||
      field.path === "credentials" ||
      field.path === "token" ||
      field.path === "missingOrigin"
    ) {
      (result as unknown as Record<string, unknown>)[field.path] = field.after;
    }
  }
  return result;
}
