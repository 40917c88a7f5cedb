/**
 * diffDocuments: what changed between two policy documents — allowlist entries added,
 * removed and changed (note or expiry; matched by normalised pattern, so order does not
 * matter) and every other field that changed. Pure and browser-safe: the API's revision
 * endpoint and the history page's "compare any two revisions" use this one function.
 */
import type { PolicyLimits } from "../../../server/policy/types";
import type { StoredOriginEntry, StoredPolicyDocument } from "./document";

export interface OriginChange {
  pattern: string;
  before: { note: string | null; expiresAt: string | null };
  after: { note: string | null; expiresAt: string | null };
}

export interface FieldChange {
  path: string;
  before: unknown;
  after: unknown;
}

export interface PolicyDiff {
  origins: { added: StoredOriginEntry[]; removed: StoredOriginEntry[]; changed: OriginChange[] };
  fields: FieldChange[];
}

const SCALAR_FIELDS = ["mode", "credentials", "token", "missingOrigin"] as const;
const LIMIT_FIELDS: ReadonlyArray<keyof PolicyLimits> = [
  "maxMessageBytes",
  "idleTimeoutSeconds",
  "maxConnections",
  "handshakesPerMinutePerIp",
];

export function diffDocuments(before: StoredPolicyDocument | null, after: StoredPolicyDocument): PolicyDiff {
  const oldByPattern = new Map((before?.origins ?? []).map((o) => [o.pattern, o]));
  const newByPattern = new Map(after.origins.map((o) => [o.pattern, o]));
  const added = after.origins.filter((o) => !oldByPattern.has(o.pattern));
  const removed = (before?.origins ?? []).filter((o) => !newByPattern.has(o.pattern));
  const changed: OriginChange[] = [];
  for (const entry of after.origins) {
    const old = oldByPattern.get(entry.pattern);
    if (!old) continue;
    if ((old.note ?? null) !== (entry.note ?? null) || !sameInstant(old.expiresAt, entry.expiresAt)) {
      changed.push({
        pattern: entry.pattern,
        before: { note: old.note ?? null, expiresAt: old.expiresAt ?? null },
        after: { note: entry.note ?? null, expiresAt: entry.expiresAt ?? null },
      });
    }
  }
  const fields: FieldChange[] = [];
  for (const key of SCALAR_FIELDS) {
    if (!before || before[key] !== after[key])
      fields.push({ path: key, before: before?.[key] ?? null, after: after[key] });
  }
  const oldSub = before?.subprotocols ?? [];
  if (!before || oldSub.join("\n") !== after.subprotocols.join("\n")) {
    fields.push({ path: "subprotocols", before: before ? oldSub : null, after: after.subprotocols });
  }
  for (const key of LIMIT_FIELDS) {
    if (!before || before.limits[key] !== after.limits[key]) {
      fields.push({ path: `limits.${key}`, before: before?.limits[key] ?? null, after: after.limits[key] });
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

function sameInstant(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a || !b) return (a ?? null) === (b ?? null);
  return new Date(a).getTime() === new Date(b).getTime();
}
