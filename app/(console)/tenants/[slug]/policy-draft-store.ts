"use client";
/**
 * Unsaved policy edits kept in this browser (localStorage), per tenant, so that a reload, a
 * crash or a closed tab does not lose them. Stored: the version the edit started from, that
 * version's document, the working copy and the comment.
 *
 * Restoring never trusts the stored working copy as a whole: the editor replays only the
 * changes (diffDocuments(storedBase, storedDraft)) onto the version loaded now, the same way
 * it re-applies edits after a conflict — so a draft made on v3 restored while v5 is current
 * brings back the user's changes, not v3's other settings. What comes back is validated like
 * any edit (validatePolicy while typing, the server at save).
 *
 * Storage may be unavailable (private mode, quota, disabled): every access is wrapped and
 * the editor simply works without a kept draft.
 */
import { z } from "zod";
import type { PolicyDocument } from "@/server/policy/browser";

const PREFIX = "origingate.policy-draft.";

// The editor's documents may hold entries that do not validate yet (a half-typed pattern), so
// only the shape the diff needs is checked here; validatePolicy judges the content.
const documentShape = z.looseObject({
  origins: z.array(z.looseObject({ pattern: z.string() })),
});

const storedDraftSchema = z.object({
  v: z.literal(1),
  baseVersion: z.number().int().nonnegative(),
  base: documentShape,
  draft: documentShape,
  comment: z.string().max(500),
  savedAt: z.string().max(40),
});

export interface StoredDraft {
  baseVersion: number;
  base: PolicyDocument;
  draft: PolicyDocument;
  comment: string;
  savedAt: string;
}

function storage(): Storage | null {
  try {
    return typeof window === "undefined" ? null : window.localStorage;
  } catch {
    return null;
  }
}

export function readDraft(slug: string): StoredDraft | null {
  try {
    const raw = storage()?.getItem(PREFIX + slug);
    if (!raw) return null;
    const parsed = storedDraftSchema.safeParse(JSON.parse(raw));
    if (!parsed.success) {
      clearDraft(slug);
      return null;
    }
    const { v: _v, ...draft } = parsed.data;
    return draft as unknown as StoredDraft;
  } catch {
    return null;
  }
}

export function writeDraft(slug: string, draft: StoredDraft): void {
  try {
    storage()?.setItem(PREFIX + slug, JSON.stringify({ v: 1, ...draft }));
  } catch {
    // Full or unavailable: the edit still lives in the page.
  }
}

export function clearDraft(slug: string): void {
  try {
    storage()?.removeItem(PREFIX + slug);
  } catch {
    // Nothing to clear.
  }
}
