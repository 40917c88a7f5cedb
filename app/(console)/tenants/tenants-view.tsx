"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { type FormEvent, useMemo, useState } from "react";
import { api, fieldErrors, validationIssues } from "@/app/_client/api-client";
import { absoluteTime, relativeTime } from "@/app/_client/format";
import { keys, type TenantDetail, tenantsQuery } from "@/app/_client/queries";
import { useCan } from "@/app/_client/session";
import { useToast } from "@/app/_client/toast";
import { Empty, ModeBadge, QueryList, SyncBadge } from "@/app/_components/status";
import { createTenantInput } from "@/server/domain/tenants/tenant-input";

export function TenantsView() {
  const tenants = useQuery(tenantsQuery());
  const canCreate = useCan("tenants.write");
  const [search, setSearch] = useState("");
  const [creating, setCreating] = useState(false);

  const rows = useMemo(() => {
    const q = search.trim().toLowerCase();
    const all = tenants.data ?? [];
    return q ? all.filter((t) => t.slug.includes(q) || t.name.toLowerCase().includes(q)) : all;
  }, [tenants.data, search]);

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Tenants</h1>
          <p className="muted">
            Each tenant has its own allowlist and credential policy, enforced at /t/&lt;slug&gt;/… on every gateway.
          </p>
        </div>
        {canCreate ? (
          <button
            type="button"
            className="btn btn-primary"
            onClick={() => setCreating((c) => !c)}
            aria-expanded={creating}
          >
            {creating ? "Close" : "New tenant"}
          </button>
        ) : null}
      </div>
      {creating && canCreate ? <CreateTenantForm onDone={() => setCreating(false)} /> : null}
      <div className="toolbar">
        <label className="field field-inline">
          <span className="label">Search</span>
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="slug or name" />
        </label>
        {tenants.data ? (
          <span className="muted">
            {rows.length} of {tenants.data.length}
          </span>
        ) : null}
      </div>
      <QueryList
        query={tenants}
        empty={
          <Empty title="No tenants yet">
            {canCreate ? "Create one with “New tenant”." : "An admin can create one."}
          </Empty>
        }
      >
        {() =>
          rows.length === 0 ? (
            <Empty title="Nothing matches this search" />
          ) : (
            <div className="table-wrap">
              <table className="table">
                <thead>
                  <tr>
                    <th>Tenant</th>
                    <th className="num">Origins</th>
                    <th>Mode</th>
                    <th className="num">Version</th>
                    <th>Gateways</th>
                    <th>Last change</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((t) => (
                    <tr key={t.slug}>
                      <td>
                        <Link href={`/tenants/${t.slug}`} className="strong-link">
                          {t.name}
                        </Link>
                        <div className="mono small muted">{t.slug}</div>
                      </td>
                      <td className="num">{t.originCount}</td>
                      <td>
                        <ModeBadge mode={t.mode} />
                        {t.managedBy ? (
                          <span className="badge badge-info" title={`Managed by code: ${t.managedBy}`}>
                            code
                          </span>
                        ) : null}
                      </td>
                      <td className="num mono">v{t.version}</td>
                      <td>
                        <SyncBadge sync={t.sync} />
                      </td>
                      <td title={absoluteTime(t.policyUpdatedAt)}>
                        {relativeTime(t.policyUpdatedAt)}
                        {t.policyUpdatedBy ? <div className="small muted">{t.policyUpdatedBy}</div> : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </QueryList>
    </div>
  );
}

function CreateTenantForm({ onDone }: { onDone: () => void }) {
  const queryClient = useQueryClient();
  const router = useRouter();
  const toast = useToast();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const create = useMutation({
    mutationFn: (input: { slug: string; name: string; upstreamUrl: string | null }) =>
      api<TenantDetail>("/api/v1/tenants", { method: "POST", body: input }),
    onSuccess: async (tenant) => {
      queryClient.setQueryData(keys.tenant(tenant.slug), tenant);
      await queryClient.invalidateQueries({ queryKey: keys.tenants(), exact: true });
      toast.success(`Tenant ${tenant.slug} created (policy v1: nothing allowed yet)`);
      onDone();
      router.push(`/tenants/${tenant.slug}`);
    },
    onError: (error) => {
      if (validationIssues(error).length > 0) setErrors(fieldErrors(error));
      toast.error(error.message);
    },
  });

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const raw = {
      slug: String(form.get("slug") ?? "").trim(),
      name: String(form.get("name") ?? ""),
      upstreamUrl: String(form.get("upstreamUrl") ?? "").trim() || null,
    };
    const parsed = createTenantInput.safeParse(raw);
    if (!parsed.success) {
      setErrors(Object.fromEntries(parsed.error.issues.map((i) => [String(i.path[0] ?? ""), i.message])));
      return;
    }
    setErrors({});
    create.mutate(raw);
  }

  return (
    <form className="panel form form-grid" onSubmit={onSubmit} noValidate aria-label="New tenant">
      <label className="field">
        <span className="label">Slug (immutable; in the gateway URL /t/&lt;slug&gt;/)</span>
        <input
          name="slug"
          className="mono"
          required
          pattern="[a-z0-9-]+"
          placeholder="payments-prod"
          aria-invalid={!!errors.slug}
        />
        {errors.slug ? <span className="field-error">{errors.slug}</span> : null}
      </label>
      <label className="field">
        <span className="label">Name</span>
        <input name="name" required placeholder="Payments (production)" aria-invalid={!!errors.name} />
        {errors.name ? <span className="field-error">{errors.name}</span> : null}
      </label>
      <label className="field">
        <span className="label">Upstream URL (optional; without one the gateway echoes)</span>
        <input
          name="upstreamUrl"
          className="mono"
          placeholder="wss://backend.internal:9000"
          aria-invalid={!!errors.upstreamUrl}
        />
        {errors.upstreamUrl ? <span className="field-error">{errors.upstreamUrl}</span> : null}
      </label>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create tenant"}
        </button>
      </div>
    </form>
  );
}
