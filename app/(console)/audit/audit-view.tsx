"use client";
/**
 * The audit page: one tenant choice for the whole page (all tenants by default), then the
 * overview (chart, top rejected origins), the live feed and the explorer. The tenant and all
 * of the explorer's state (filters, time range, sort) live in the URL
 * (/audit?tenant=&decision=&range=24h&sort=-count...): a view can be linked, survives a
 * reload, and Back/Forward step through the searches. Clicking any row opens its full record.
 *
 * Live: the overview and, while its window ends now (a relative range) and it is sorted newest
 * first, the explorer refresh when the live feed receives events — at most every LIVE_REFRESH_MS.
 */
import "./explorer.css";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import { auditEventsArrived } from "@/app/_client/mutations";
import { type AuditEvent, type AuditHistoryFilter, explorerFilter, tenantsQuery } from "@/app/_client/queries";
import { AuditOverview } from "./audit-overview";
import { EventDetails } from "./event-details";
import { HistoryPanel } from "./history-panel";
import { LiveFeed } from "./live-feed";

/** The least time between two live refreshes of the overview and the explorer. */
const LIVE_REFRESH_MS = 3000;

export function AuditView({ initialFilter }: { initialFilter: AuditHistoryFilter }) {
  const tenants = useQuery(tenantsQuery());
  const [filter, setFilter] = useState<AuditHistoryFilter>(initialFilter);
  const [selected, setSelected] = useState<AuditEvent | null>(null);
  const tenant = filter.tenant ?? null;

  const client = useQueryClient();

  const apply = useCallback((next: AuditHistoryFilter) => {
    const normalized = explorerFilter(next);
    setFilter(normalized);
    const url = new URL(window.location.href);
    url.search = new URLSearchParams(normalized as Record<string, string>).toString();
    if (url.href !== window.location.href) window.history.pushState(null, "", url);
  }, []);

  // Back and Forward restore the explorer's state from the URL.
  useEffect(() => {
    const onPop = () => {
      const params = Object.fromEntries(new URLSearchParams(window.location.search)) as AuditHistoryFilter;
      setFilter(explorerFilter(params));
    };
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);

  // New events on the live feed: refresh the overview, and the explorer when it shows "now".
  // The feed's first rows (its seed) arrive right after load: the first refresh waits its turn too.
  const lastRefresh = useRef(Date.now());
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const followsNow = Boolean(filter.range) && (filter.sort ?? "-ts") === "-ts";
  const onLiveEvents = useCallback(() => {
    if (pending.current) return;
    const wait = Math.max(0, lastRefresh.current + LIVE_REFRESH_MS - Date.now());
    pending.current = setTimeout(() => {
      pending.current = undefined;
      lastRefresh.current = Date.now();
      void auditEventsArrived(client, followsNow ? filter : null);
    }, wait);
  }, [client, followsNow, filter]);
  useEffect(() => () => clearTimeout(pending.current), []);

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
            apply({
              tenant: row.tenant ?? tenant ?? undefined,
              decision: "rejected",
              range: filter.range,
              ...byOrigin,
            });
            document.getElementById("audit-history")?.scrollIntoView({ behavior: "smooth", block: "start" });
          }}
        />
        <LiveFeed tenant={tenant} onSelect={setSelected} onEvents={onLiveEvents} />
        <HistoryPanel filter={filter} onApply={apply} onSelect={setSelected} />
      </div>
      <EventDetails event={selected} onClose={() => setSelected(null)} />
    </div>
  );
}
