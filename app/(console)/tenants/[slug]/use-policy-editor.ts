"use client";
/**
 * The policy editor's state, shared by the Allowlist and Credential policy tabs: the saved
 * version the edit started from (`base`), the working copy (`draft`), validation while
 * typing with the gateway's own validatePolicy, saving with If-Match, and the conflict
 * flow (409: show what changed meanwhile; re-apply my changes on top, or discard them).
 * Read-only when the role may not write policies, or when the tenant is managed by code
 * (the server refuses those writes with 409 managed_by_code anyway; this only hides them).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useDeferredValue, useEffect, useMemo, useRef, useState } from "react";
import { ApiError, api } from "@/app/_client/api-client";
import { policySaved, rolloutChanged } from "@/app/_client/mutations";
import { keys, policyQuery, type VersionedPolicyDocument } from "@/app/_client/queries";
import { useCan } from "@/app/_client/session";
import { useToast } from "@/app/_client/toast";
import { applyDiff } from "@/app/_lib/policy/apply-diff";
import { diffDocuments, isEmptyDiff, type PolicyDiff } from "@/server/domain/policy/diff-documents";
import type { VersionConflictDetails } from "@/server/domain/policy/save-policy";
import type { RolloutView } from "@/server/domain/rollouts/rollout-view";
import type { PolicyDocument } from "@/server/policy/browser";
import { type PolicyIssue, validatePolicy } from "@/server/policy/browser";

type SaveAnswer =
  | (VersionedPolicyDocument & { changed: boolean; warnings: Array<{ path: string; message: string }> })
  | (RolloutView & { warnings: unknown[] });

import { clearDraft, readDraft, type StoredDraft, writeDraft } from "./policy-draft-store";

/** How long typing may pause before the working copy is written to the browser's storage. */
const KEEP_DRAFT_DELAY_MS = 300;

export function withoutVersion(doc: VersionedPolicyDocument): PolicyDocument {
  const { version: _version, ...rest } = doc;
  return rest;
}

export interface PolicyEditor {
  slug: string;
  loading: boolean;
  error: unknown;
  refetch: () => void;
  base: VersionedPolicyDocument | null;
  draft: PolicyDocument | null;
  /** A newer version exists on the server than the one being edited. */
  newerVersion: number | null;
  update: (change: (draft: PolicyDocument) => PolicyDocument) => void;
  pending: PolicyDiff | null;
  dirty: boolean;
  /** Why the policy cannot be edited here: the role, or the tenant is managed by code. */
  readOnly: "role" | "managed" | null;
  writable: boolean;
  issues: PolicyIssue[];
  errorsByPath: Map<string, string[]>;
  warningsByPath: Map<string, string[]>;
  errorCount: number;
  comment: string;
  setComment: (comment: string) => void;
  save: () => void;
  saving: boolean;
  /** Publishes the draft as a shadow version (SPEC §5.2) instead of saving it as active. */
  publishShadow: () => void;
  publishing: boolean;
  discard: () => void;
  conflict: VersionConflictDetails | null;
  reapply: () => void;
  takeTheirs: () => void;
  /** Unsaved changes an earlier visit kept in this browser, waiting for "restore or discard". */
  keptDraft: StoredDraft | null;
  restoreKeptDraft: () => void;
  discardKeptDraft: () => void;
}

export function usePolicyEditor(
  slug: string,
  /** The tenant's mark (null: not managed by code; undefined: not known yet, so read-only). */
  managedBy: string | null | undefined,
): PolicyEditor {
  const roleCanWrite = useCan("policy.write");
  const readOnly = !roleCanWrite ? "role" : managedBy !== null ? "managed" : null;
  const queryClient = useQueryClient();
  const toast = useToast();
  const policy = useQuery(policyQuery(slug));
  const [base, setBase] = useState<VersionedPolicyDocument | null>(null);
  const [draft, setDraft] = useState<PolicyDocument | null>(null);
  const [comment, setComment] = useState("");
  const [conflict, setConflict] = useState<VersionConflictDetails | null>(null);

  const pending = useMemo(() => (base && draft ? diffDocuments(withoutVersion(base), draft) : null), [base, draft]);
  const dirty = pending !== null && !isEmptyDiff(pending);

  // Follow the server while there is nothing unsaved; never overwrite a user's edits.
  useEffect(() => {
    if (!policy.data) return;
    if (!base || (!dirty && policy.data.version !== base.version)) {
      setBase(policy.data);
      setDraft(withoutVersion(policy.data));
    }
  }, [policy.data, base, dirty]);

  // A draft kept by an earlier visit (reload, closed tab) is offered once the first version is
  // loaded; until the user decides, nothing is written over it.
  const [keptDraft, setKeptDraft] = useState<StoredDraft | null>(null);
  const [keptChecked, setKeptChecked] = useState(false);
  useEffect(() => {
    if (keptChecked || !base) return;
    setKeptChecked(true);
    const stored = readDraft(slug);
    if (stored && !isEmptyDiff(diffDocuments(stored.base, stored.draft))) setKeptDraft(stored);
    else if (stored) clearDraft(slug);
  }, [base, keptChecked, slug]);

  // Keep the working copy in this browser while it differs from its base (debounced: large
  // allowlists are serialized whole), flushed at once when the page is hidden or unloaded.
  const keep = useRef<(() => void) | null>(null);
  useEffect(() => {
    if (!keptChecked || keptDraft || readOnly !== null || !base || !draft) return;
    if (!dirty) {
      clearDraft(slug);
      return;
    }
    const write = () => {
      keep.current = null;
      writeDraft(slug, {
        baseVersion: base.version,
        base: withoutVersion(base),
        draft,
        comment,
        savedAt: new Date().toISOString(),
      });
    };
    keep.current = write;
    const timer = setTimeout(write, KEEP_DRAFT_DELAY_MS);
    return () => clearTimeout(timer);
  }, [keptChecked, keptDraft, readOnly, base, draft, dirty, comment, slug]);
  useEffect(() => {
    const flush = () => keep.current?.();
    window.addEventListener("pagehide", flush);
    return () => {
      window.removeEventListener("pagehide", flush);
      flush();
    };
  }, []);

  const deferredDraft = useDeferredValue(draft);
  const issues = useMemo(() => (deferredDraft ? validatePolicy(deferredDraft, new Date()) : []), [deferredDraft]);
  const { errorsByPath, warningsByPath, errorCount } = useMemo(() => {
    const errors = new Map<string, string[]>();
    const warnings = new Map<string, string[]>();
    let count = 0;
    for (const issue of issues) {
      const target = issue.severity === "error" ? errors : warnings;
      if (issue.severity === "error") count++;
      target.set(issue.path, [...(target.get(issue.path) ?? []), issue.message]);
    }
    return { errorsByPath: errors, warningsByPath: warnings, errorCount: count };
  }, [issues]);

  const adopt = useCallback(
    (doc: VersionedPolicyDocument) => {
      queryClient.setQueryData(keys.policy(slug), doc);
      setBase(doc);
      setDraft(withoutVersion(doc));
    },
    [queryClient, slug],
  );

  const saveMutation = useMutation({
    mutationFn: (vars: { draft: PolicyDocument; version: number; comment: string }) =>
      api<SaveAnswer>(
        `/api/v1/tenants/${encodeURIComponent(slug)}/policy${vars.comment.trim() ? `?comment=${encodeURIComponent(vars.comment.trim())}` : ""}`,
        { method: "PUT", headers: { "If-Match": `"${vars.version}"` }, body: vars.draft },
      ),
    onSuccess: async (answer) => {
      if ("stage" in answer) {
        // The tenant requires approval (202): nothing saved yet; the change waits as a rollout.
        setComment("");
        setConflict(null);
        if (base) setDraft(withoutVersion(base));
        toast.info(`Version ${answer.version} waits for a second person's approval`);
        await rolloutChanged(queryClient, slug);
        return;
      }
      const { warnings, changed, ...saved } = answer;
      adopt(saved);
      setComment("");
      setConflict(null);
      if (!changed) toast.info(`Nothing to save: version ${saved.version} already has these settings`);
      else
        toast.success(
          `Saved version ${saved.version}${warnings.length ? ` (${warnings.length} warning${warnings.length === 1 ? "" : "s"})` : ""}`,
        );
      await policySaved(queryClient, slug, saved);
    },
    onError: (error) => {
      if (error instanceof ApiError && error.code === "version_conflict" && error.details) {
        setConflict(error.details as VersionConflictDetails);
        toast.error("Someone saved a newer version meanwhile: review it below.");
        return;
      }
      toast.error(error instanceof Error ? error.message : String(error));
    },
  });

  const publishMutation = useMutation({
    mutationFn: (vars: { draft: PolicyDocument; comment: string }) =>
      api<RolloutView>(`/api/v1/tenants/${encodeURIComponent(slug)}/rollouts`, {
        method: "POST",
        body: {
          document: vars.draft,
          stage: "shadow",
          ...(vars.comment.trim() ? { comment: vars.comment.trim() } : {}),
        },
      }),
    onSuccess: async (rollout) => {
      setComment("");
      if (base) setDraft(withoutVersion(base));
      toast.success(`Published version ${rollout.version} as shadow: clients still get version ${base?.version}`);
      await rolloutChanged(queryClient, slug);
    },
    onError: (error) => toast.error(error instanceof Error ? error.message : String(error)),
  });

  return {
    slug,
    loading: policy.isPending,
    error: policy.error,
    refetch: () => void policy.refetch(),
    base,
    draft,
    newerVersion: policy.data && base && policy.data.version > base.version ? policy.data.version : null,
    update: (change) => setDraft((d) => (d ? change(d) : d)),
    pending,
    dirty,
    readOnly,
    writable: readOnly === null,
    issues,
    errorsByPath,
    warningsByPath,
    errorCount,
    comment,
    setComment,
    save: () => {
      if (!base || !draft) return;
      // Validate the current draft synchronously: the deferred result may lag one render.
      if (validatePolicy(draft, new Date()).some((i) => i.severity === "error")) {
        toast.error("Fix the errors marked in red before saving.");
        return;
      }
      saveMutation.mutate({ draft, version: base.version, comment });
    },
    saving: saveMutation.isPending || publishMutation.isPending,
    publishShadow: () => {
      if (!base || !draft) return;
      if (validatePolicy(draft, new Date()).some((i) => i.severity === "error")) {
        toast.error("Fix the errors marked in red before publishing.");
        return;
      }
      publishMutation.mutate({ draft, comment });
    },
    publishing: publishMutation.isPending,
    discard: () => {
      if (base) setDraft(withoutVersion(base));
      setConflict(null);
    },
    conflict,
    reapply: () => {
      if (!conflict || !base || !draft) return;
      const mine = diffDocuments(withoutVersion(base), draft);
      const current = conflict.current;
      queryClient.setQueryData(keys.policy(slug), current);
      setBase(current);
      setDraft(applyDiff(withoutVersion(current), mine));
      setConflict(null);
      toast.info(`Your changes are re-applied on version ${current.version}. Review and save again.`);
    },
    takeTheirs: () => {
      if (!conflict) return;
      adopt(conflict.current);
      setConflict(null);
    },
    keptDraft,
    restoreKeptDraft: () => {
      if (!keptDraft || !base) return;
      // Only the user's changes are replayed, onto the version loaded now (see policy-draft-store.ts).
      setDraft(applyDiff(withoutVersion(base), diffDocuments(keptDraft.base, keptDraft.draft)));
      setComment(keptDraft.comment);
      setKeptDraft(null);
      toast.info(
        keptDraft.baseVersion === base.version
          ? "Your unsaved changes are back. Review and save them."
          : `Your unsaved changes (made on version ${keptDraft.baseVersion}) are re-applied on version ${base.version}. Review and save them.`,
      );
    },
    discardKeptDraft: () => {
      clearDraft(slug);
      setKeptDraft(null);
    },
  };
}
