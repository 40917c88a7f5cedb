"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { ApiError, api } from "@/app/_client/api-client";
import { absoluteTime, relativeTime } from "@/app/_client/format";
import { type ApiTokenView, keys, tenantsQuery, tokensQuery } from "@/app/_client/queries";
import { useToast } from "@/app/_client/toast";
import { InlineConfirm } from "@/app/_components/inline-confirm";
import { RoleField } from "@/app/_components/role-field";
import { ShownOnceSecret } from "@/app/_components/shown-once-secret";
import { Empty, QueryList } from "@/app/_components/status";
import type { Role } from "@/server/domain/auth/permissions";
import { createApiTokenInput } from "@/server/domain/tokens/api-token-input";

export function TokensView({ defaultDays, maxDays }: { defaultDays: number; maxDays: number }) {
  const tokens = useQuery(tokensQuery());
  const queryClient = useQueryClient();
  const toast = useToast();
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);

  const revoke = useMutation({
    mutationFn: (id: string) => api(`/api/v1/tokens/${encodeURIComponent(id)}`, { method: "DELETE" }),
    onMutate: async (id) => {
      await queryClient.cancelQueries({ queryKey: keys.tokens(), exact: true });
      const previous = queryClient.getQueryData<ApiTokenView[]>(keys.tokens());
      queryClient.setQueryData<ApiTokenView[]>(keys.tokens(), (list) =>
        list?.map((t) => (t.id === id ? { ...t, revokedAt: new Date().toISOString() } : t)),
      );
      return { previous };
    },
    onError: (error, _id, context) => {
      if (context?.previous) queryClient.setQueryData(keys.tokens(), context.previous);
      toast.error(error.message);
    },
    onSuccess: () => {
      setRevoking(null);
      toast.success("Token revoked");
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: keys.tokens(), exact: true }),
  });

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>API tokens</h1>
          <p className="muted">
            For scripts and CI: <code>Authorization: Bearer og_…</code> on any <code>/api/v1</code> route, with the
            token's role. Only a hash is stored; a token is shown once, when it is created. Every token expires (default{" "}
            {defaultDays} days, at most {maxDays}); one limited to a tenant can read and change that tenant only. A
            token is revoked when the user who created it is removed, or demoted below its role.
          </p>
        </div>
      </div>
      <CreateTokenForm onCreated={setCreated} defaultDays={defaultDays} maxDays={maxDays} />
      {created ? (
        <ShownOnceSecret
          testId="new-token"
          title={<>Token “{created.name}” (copy it now; it is not shown again):</>}
          value={created.token}
          onDone={() => setCreated(null)}
        />
      ) : null}
      <QueryList query={tokens} empty={<Empty title="No API tokens" />}>
        {(items) => (
          <div className="table-wrap">
            <table className="table" aria-label="API tokens">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Role</th>
                  <th>Tenant</th>
                  <th>Token</th>
                  <th>Created</th>
                  <th>Expires</th>
                  <th>Last used</th>
                  <th>Status</th>
                  <th aria-label="Actions" />
                </tr>
              </thead>
              <tbody>
                {items.map((t) => (
                  <tr key={t.id} className={t.revokedAt ? "row-muted" : undefined}>
                    <td className="strong">{t.name}</td>
                    <td>
                      <span className={`badge role-${t.role}`}>{t.role}</span>
                      {t.policyAsCode ? (
                        <span className="badge badge-info" title="May apply policies of tenants managed by code">
                          policy as code
                        </span>
                      ) : null}
                    </td>
                    <td>{t.tenant ?? <span className="muted">all</span>}</td>
                    <td className="mono">{t.prefix}…</td>
                    <td title={absoluteTime(t.createdAt)}>
                      {relativeTime(t.createdAt)}
                      {t.createdBy ? <div className="small muted">{t.createdBy}</div> : null}
                    </td>
                    <td title={absoluteTime(t.expiresAt)}>{relativeTime(t.expiresAt)}</td>
                    <td title={absoluteTime(t.lastUsedAt)}>
                      {t.lastUsedAt ? relativeTime(t.lastUsedAt) : <span className="muted">never</span>}
                    </td>
                    <td>
                      {t.revokedAt ? (
                        <span className="badge badge-muted" title={absoluteTime(t.revokedAt)}>
                          revoked
                        </span>
                      ) : new Date(t.expiresAt).getTime() <= Date.now() ? (
                        <span className="badge badge-muted">expired</span>
                      ) : (
                        <span className="badge badge-ok">active</span>
                      )}
                    </td>
                    <td>
                      {t.revokedAt ? null : (
                        <InlineConfirm
                          confirming={revoking === t.id}
                          onStart={() => setRevoking(t.id)}
                          onCancel={() => setRevoking(null)}
                          onConfirm={() => revoke.mutate(t.id)}
                          label="Revoke…"
                          ariaLabel={`Revoke ${t.name}`}
                          confirmLabel="Confirm revoke"
                        />
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryList>
    </div>
  );
}

function CreateTokenForm({
  onCreated,
  defaultDays,
  maxDays,
}: {
  onCreated: (created: { name: string; token: string }) => void;
  defaultDays: number;
  maxDays: number;
}) {
  const queryClient = useQueryClient();
  const tenants = useQuery(tenantsQuery());
  const toast = useToast();
  const [error, setError] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: (input: {
      name: string;
      role: Role;
      expiresInDays?: number;
      tenant?: string | null;
      policyAsCode: boolean;
    }) => api<ApiTokenView & { token: string }>("/api/v1/tokens", { method: "POST", body: input }),
    onSuccess: async (result) => {
      onCreated({ name: result.name, token: result.token });
      await queryClient.invalidateQueries({ queryKey: keys.tokens(), exact: true });
    },
    onError: (e) => {
      setError(
        e instanceof ApiError && Array.isArray(e.details)
          ? ((e.details as Array<{ message: string }>)[0]?.message ?? e.message)
          : e.message,
      );
      toast.error(e.message);
    },
  });
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const days = String(form.get("expiresInDays") ?? "").trim();
    const input = {
      name: String(form.get("name") ?? ""),
      role: String(form.get("role") ?? "viewer") as Role,
      ...(days === "" ? {} : { expiresInDays: Number(days) }),
      tenant: String(form.get("tenant") ?? "") || null,
      policyAsCode: form.get("policyAsCode") === "on",
    };
    if (
      input.expiresInDays !== undefined &&
      (!Number.isInteger(input.expiresInDays) || input.expiresInDays > maxDays)
    ) {
      setError(`Lifetime: a whole number of days, at most ${maxDays}`);
      return;
    }
    const parsed = createApiTokenInput.safeParse(input);
    if (!parsed.success) {
      setError(parsed.error.issues[0]?.message ?? "invalid");
      return;
    }
    setError(null);
    create.mutate(parsed.data, { onSuccess: () => formElement.reset() });
  }
  return (
    <form className="panel form" onSubmit={submit} aria-label="Create an API token" noValidate>
      <div className="form-row">
        <label className="field grow">
          <span className="label">Name (what uses it)</span>
          <input name="name" required placeholder="ci-deploy" aria-invalid={!!error} />
          {error ? <span className="field-error">{error}</span> : null}
        </label>
        <RoleField />
        <label className="field">
          <span className="label">Expires in (days)</span>
          <input name="expiresInDays" type="number" min={1} max={maxDays} placeholder={String(defaultDays)} />
        </label>
        <label className="field">
          <span className="label">Tenant</span>
          <select name="tenant" defaultValue="">
            <option value="">every tenant</option>
            {(tenants.data ?? []).map((t) => (
              <option key={t.slug} value={t.slug}>
                {t.slug} only
              </option>
            ))}
          </select>
        </label>
        <label
          className="field field-inline"
          title="Only such a token may change the policy of a tenant managed by code (ctl policy:apply)"
        >
          <input type="checkbox" name="policyAsCode" /> <span className="label">Policy as code</span>
        </label>
        <div className="field field-button">
          <button type="submit" className="btn btn-primary" disabled={create.isPending}>
            {create.isPending ? "Creating…" : "Create token"}
          </button>
        </div>
      </div>
    </form>
  );
}
