"use client";
/**
 * Tenant settings (admin): name, upstream URL, policy as code (mark the tenant as managed by
 * code, or remove the mark), token secret rotation (shown once), deletion (type the slug).
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { type FormEvent, useState } from "react";
import { api, fieldErrors, validationIssues } from "@/app/_client/api-client";
import { absoluteTime, relativeTime } from "@/app/_client/format";
import { keys, type TenantDetail } from "@/app/_client/queries";
import { useCan } from "@/app/_client/session";
import { useToast } from "@/app/_client/toast";
import { ShownOnceSecret } from "@/app/_components/shown-once-secret";
import {
  DEFAULT_SECRET_OVERLAP_SECONDS,
  MAX_SECRET_OVERLAP_SECONDS,
  managedBySchema,
  updateTenantInput,
} from "@/server/domain/tenants/tenant-input";

export function SettingsTab({ tenant }: { tenant: TenantDetail }) {
  const canAdmin = useCan("tenants.write");
  const canRotate = useCan("tenants.rotate_secret");
  return (
    <div className="stack">
      {!canAdmin ? <p className="callout callout-info">Only admins can change tenant settings.</p> : null}
      <GeneralForm tenant={tenant} disabled={!canAdmin} />
      <ManagedByCodePanel tenant={tenant} canAdmin={canAdmin} />
      <ApprovalPanel tenant={tenant} canAdmin={canAdmin} />
      <SecretPanel tenant={tenant} canRotate={canRotate} />
      {canAdmin ? <DeletePanel slug={tenant.slug} /> : null}
    </div>
  );
}

function GeneralForm({ tenant, disabled }: { tenant: TenantDetail; disabled: boolean }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [name, setName] = useState(tenant.name);
  const [upstream, setUpstream] = useState(tenant.upstreamUrl ?? "");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: (input: { name: string; upstreamUrl: string | null }) =>
      api<TenantDetail>(`/api/v1/tenants/${encodeURIComponent(tenant.slug)}`, { method: "PATCH", body: input }),
    onSuccess: async (updated) => {
      queryClient.setQueryData(keys.tenant(tenant.slug), updated);
      setUpstream(updated.upstreamUrl ?? "");
      toast.success("Tenant settings saved");
      await queryClient.invalidateQueries({ queryKey: keys.tenants(), exact: true });
    },
    onError: (error) => {
      if (validationIssues(error).length > 0) setErrors(fieldErrors(error));
      toast.error(error.message);
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    const input = { name, upstreamUrl: upstream.trim() || null };
    const parsed = updateTenantInput.safeParse(input);
    if (!parsed.success) {
      setErrors(Object.fromEntries(parsed.error.issues.map((i) => [String(i.path[0] ?? ""), i.message])));
      return;
    }
    setErrors({});
    save.mutate(input);
  }
  return (
    <form className="panel form" onSubmit={submit} aria-label="Tenant settings">
      <h3 className="h4">General</h3>
      <label className="field">
        <span className="label">Slug (immutable)</span>
        <input value={tenant.slug} readOnly className="mono" />
      </label>
      <label className="field">
        <span className="label">Name</span>
        <input
          value={name}
          onChange={(e) => setName(e.target.value)}
          disabled={disabled}
          aria-invalid={!!errors.name}
        />
        {errors.name ? <span className="field-error">{errors.name}</span> : null}
      </label>
      <label className="field">
        <span className="label">Upstream URL (ws:// or wss://; empty = echo)</span>
        <input
          value={upstream}
          onChange={(e) => setUpstream(e.target.value)}
          disabled={disabled}
          className="mono"
          placeholder="wss://backend.internal:9000"
          aria-invalid={!!errors.upstreamUrl}
        />
        {errors.upstreamUrl ? <span className="field-error">{errors.upstreamUrl}</span> : null}
      </label>
      {!disabled ? (
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={save.isPending}>
            {save.isPending ? "Saving…" : "Save settings"}
          </button>
        </div>
      ) : null}
    </form>
  );
}

function ManagedByCodePanel({ tenant, canAdmin }: { tenant: TenantDetail; canAdmin: boolean }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [where, setWhere] = useState(tenant.managedBy ?? "");
  const [error, setError] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (managedBy: string | null) =>
      api<TenantDetail>(`/api/v1/tenants/${encodeURIComponent(tenant.slug)}`, { method: "PATCH", body: { managedBy } }),
    onSuccess: async (updated) => {
      queryClient.setQueryData(keys.tenant(tenant.slug), updated);
      setWhere(updated.managedBy ?? "");
      toast.success(updated.managedBy ? "Marked as managed by code" : "The policy can be edited here again");
      await queryClient.invalidateQueries({ queryKey: keys.tenants(), exact: true });
    },
    onError: (e) => toast.error(e.message),
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    const parsed = managedBySchema.safeParse(where);
    if (!parsed.success || parsed.data === null) {
      setError(
        parsed.success ? "required: where the policy is managed" : (parsed.error.issues[0]?.message ?? "invalid"),
      );
      return;
    }
    setError(null);
    save.mutate(parsed.data);
  }
  return (
    <form className="panel form" onSubmit={submit} aria-label="Policy as code">
      <h3 className="h4">Policy as code</h3>
      <p className="small muted">
        A tenant managed by code is read-only in the dashboard: its policy changes only through{" "}
        <code>ctl policy:apply</code> with an API token created for policy as code. Every other change (editor,
        rollback, “allow this origin”) is refused with <code>managed_by_code</code>.
      </p>
      <label className="field">
        <span className="label">Managed by (where the policy lives, e.g. the repository URL)</span>
        <input
          value={where}
          onChange={(e) => setWhere(e.target.value)}
          disabled={!canAdmin || tenant.managedBy !== null}
          className="mono"
          placeholder="https://github.com/acme/origin-policies"
          aria-invalid={!!error}
        />
        {error ? <span className="field-error">{error}</span> : null}
      </label>
      {canAdmin ? (
        <div className="form-actions">
          {tenant.managedBy === null ? (
            <button type="submit" className="btn btn-primary" disabled={save.isPending}>
              Mark as managed by code
            </button>
          ) : (
            <button type="button" className="btn" disabled={save.isPending} onClick={() => save.mutate(null)}>
              Remove the mark (edit here again)
            </button>
          )}
        </div>
      ) : null}
    </form>
  );
}

/** The two-person rule (SPEC §5.2): changes wait for an editor or admin other than their author. */
function ApprovalPanel({ tenant, canAdmin }: { tenant: TenantDetail; canAdmin: boolean }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const save = useMutation({
    mutationFn: (requireApproval: boolean) =>
      api<TenantDetail>(`/api/v1/tenants/${encodeURIComponent(tenant.slug)}`, {
        method: "PATCH",
        body: { requireApproval },
      }),
    onSuccess: async (updated) => {
      queryClient.setQueryData(keys.tenant(tenant.slug), updated);
      toast.success(
        updated.requireApproval ? "Changes now need a second person's approval" : "Changes no longer need approval",
      );
      await queryClient.invalidateQueries({ queryKey: keys.tenants(), exact: true });
    },
    onError: (e) => toast.error(e.message),
  });
  return (
    <section className="panel form" aria-label="Approvals">
      <h3 className="h4">Approvals</h3>
      <p className="small muted">
        With approvals on, every change (save, rollback, “allow this origin”, a canary, promoting a shadow) waits until
        an editor or admin other than its author approves it.
      </p>
      <label className="field field-inline">
        <input
          type="checkbox"
          checked={tenant.requireApproval}
          disabled={!canAdmin || save.isPending}
          onChange={(e) => save.mutate(e.target.checked)}
        />
        <span>Require a second person's approval</span>
      </label>
    </section>
  );
}

/** Overlap windows offered for a rotation (the API accepts any 0–86400 seconds). */
const OVERLAP_CHOICES: Array<[number, string]> = [
  [0, "no time (cut off now)"],
  [DEFAULT_SECRET_OVERLAP_SECONDS, "5 minutes"],
  [3600, "1 hour"],
  [MAX_SECRET_OVERLAP_SECONDS, "24 hours"],
];

function SecretPanel({ tenant, canRotate }: { tenant: TenantDetail; canRotate: boolean }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [confirming, setConfirming] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const [overlapSeconds, setOverlapSeconds] = useState(DEFAULT_SECRET_OVERLAP_SECONDS);
  const rotate = useMutation({
    mutationFn: () =>
      api<{ tokenSecret: string; rotatedAt: string; previousSecretValidUntil: string | null }>(
        `/api/v1/tenants/${encodeURIComponent(tenant.slug)}/rotate-secret`,
        {
          method: "POST",
          body: { overlapSeconds },
        },
      ),
    onSuccess: async (result) => {
      setSecret(result.tokenSecret);
      setConfirming(false);
      toast.success("Token secret rotated: copy it now, it will not be shown again");
      await queryClient.invalidateQueries({ queryKey: keys.tenant(tenant.slug), exact: true });
    },
    onError: (error) => toast.error(error.message),
  });
  return (
    <section className="panel" aria-label="Token secret">
      <h3 className="h4">Token secret</h3>
      <p className="small muted">
        HS256 key of this tenant's handshake tokens (audience <code>{tenant.slug}</code>). Last rotated{" "}
        <span title={absoluteTime(tenant.tokenSecretRotatedAt)}>{relativeTime(tenant.tokenSecretRotatedAt)}</span>. It
        is never displayed except right after a rotation.
      </p>
      {secret ? (
        <ShownOnceSecret
          testId="new-secret"
          title={<>New secret (shown once):</>}
          value={secret}
          onDone={() => setSecret(null)}
        />
      ) : null}
      {canRotate ? (
        confirming ? (
          <div className="form-actions">
            <label className="small">
              Tokens signed with the current secret keep working for{" "}
              <select
                aria-label="Overlap"
                value={overlapSeconds}
                onChange={(e) => setOverlapSeconds(Number(e.target.value))}
              >
                {OVERLAP_CHOICES.map(([seconds, label]) => (
                  <option key={seconds} value={seconds}>
                    {label}
                  </option>
                ))}
              </select>
              , then stop on every gateway (connections opened with them are closed).
            </label>
            <button
              type="button"
              className="btn btn-danger"
              onClick={() => rotate.mutate()}
              disabled={rotate.isPending}
            >
              {rotate.isPending ? "Rotating…" : "Rotate now"}
            </button>
            <button type="button" className="btn" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        ) : (
          <button type="button" className="btn" onClick={() => setConfirming(true)}>
            Rotate secret…
          </button>
        )
      ) : null}
    </section>
  );
}

function DeletePanel({ slug }: { slug: string }) {
  const queryClient = useQueryClient();
  const router = useRouter();
  const toast = useToast();
  const [typed, setTyped] = useState("");
  const remove = useMutation({
    mutationFn: () => api(`/api/v1/tenants/${encodeURIComponent(slug)}`, { method: "DELETE" }),
    onSuccess: async () => {
      toast.success(`Tenant ${slug} deleted`);
      for (const key of [keys.tenant(slug), keys.policy(slug), keys.revisions(slug)]) {
        queryClient.removeQueries({ queryKey: key, exact: true });
      }
      await queryClient.invalidateQueries({ queryKey: keys.tenants(), exact: true });
      router.push("/tenants");
    },
    onError: (error) => toast.error(error.message),
  });
  return (
    <section className="panel panel-danger" aria-label="Delete tenant">
      <h3 className="h4">Delete tenant</h3>
      <p className="small">
        Deletes the policy, allowlist and all revisions. Gateways answer 404 tenant_unknown for <code>/t/{slug}/</code>{" "}
        from then on. Audit history is kept. This cannot be undone.
      </p>
      <div className="form-row">
        <label className="field grow">
          <span className="label">
            Type <code>{slug}</code> to confirm
          </span>
          <input value={typed} onChange={(e) => setTyped(e.target.value)} className="mono" autoComplete="off" />
        </label>
        <div className="field field-button">
          <button
            type="button"
            className="btn btn-danger"
            disabled={typed !== slug || remove.isPending}
            onClick={() => remove.mutate()}
          >
            {remove.isPending ? "Deleting…" : "Delete tenant"}
          </button>
        </div>
      </div>
    </section>
  );
}
