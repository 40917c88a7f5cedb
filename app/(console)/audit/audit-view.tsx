"use client";
/**
 * The audit page: one tenant choice for the whole page (all tenants by default), then the
 * overview (chart, top rejected origins), the live feed and the history search. The tenant
 * and the history's filters live in the URL (/audit?tenant=&decision=...), so a filtered
 * view can be linked and survives a reload. Clicking any row opens its full record.
 */
import { useQuery } from "@tanstack/react-query";
import { useCallback, useState } from "react";
import { type AuditEvent, type AuditHistoryFilter, auditFilterKey, tenantsQuery } from "../../_client/queries";
import { AuditOverview } from "./audit-overview";
import { EventDetails } from "./event-details";
import { HistoryPanel } from "./history-panel";
import { LiveFeed } from "./live-feed";

export function AuditView({ initialFilter }: { initialFilter: AuditHistoryFilter }) {
  const tenants = useQuery(tenantsQuery());
  const [filter, setFilter] = useState<AuditHistoryFilter>(initialFilter);
  const [selected, setSelected] = useState<AuditEvent | null>(null);
  const tenant = filter.tenant ?? null;

  const apply = useCallback((next: AuditHistoryFilter) => {
    const normalized = auditFilterKey(next);
    setFilter(normalized);
    const url = new URL(window.location.href);
    url.search = new URLSearchParams(normalized as Record<string, string>).toString();
    window.history.replaceState(null, "", url);
  }, []);

  const slugs = tenants.data?.map((t) => t.slug) ?? [];
  // A tenant from the URL that no longer exists still has history: keep it selectable.
  if (tenant && tenants.data && !slugs.includes(tenant)) slugs.push(tenant);

  return (
    <div className="page audit-page">
      <div className="page-head">
        <div>
          <h1>Audit</h1>
          <p className="muted">
            Every handshake decision and connection close the gateways record: live as it happens, searchable history,
            and the origins refused most often.
          </p>
        </div>
        <label className="field">
          <span className="label">Tenant</span>
          <select
            value={tenant ?? ""}
            onChange={(e) => apply({ ...filter, tenant: e.target.value })}
            disabled={tenants.isPending}
          >
            <option value="">All tenants</option>
            {slugs.map((slug) => (
              <option key={slug} value={slug}>
                {slug}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="stack">
        <AuditOverview
          tenant={tenant}
          onShowOrigin={(row) => {
            // "(none)" stands for handshakes without a usable Origin: filter by their reason instead.
            const byOrigin =
              row.origin === "(none)"
                ? { reason: row.reasons.length === 1 ? row.reasons[0] : undefined }
                : { origin: row.origin };
            apply({ tenant: row.tenant ?? tenant ?? undefined, decision: "rejected", ...byOrigin });
            document.getElementById("audit-history")?.scrollIntoView({ behavior: "smooth", block: "start" });
          }}
        />
        <LiveFeed tenant={tenant} onSelect={setSelected} />
        <HistoryPanel filter={filter} onApply={apply} onSelect={setSelected} />
      </div>
      <EventDetails event={selected} onClose={() => setSelected(null)} />
    </div>
  );
}
