"use client";
/**
 * Overview: accepted vs rejected over the last hour/day, and the origins refused most often.
 * The tester's own handshakes (a scan is hundreds of refusals) are left out unless "Include
 * tester traffic" is ticked.
 */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { absoluteTime, relativeTime } from "@/app/_client/format";
import { type AuditWindow, auditStatsQuery, type RejectedOriginRow } from "@/app/_client/queries";
import { useHydrated } from "@/app/_client/use-hydrated";
import { Empty, ErrorState, Loading } from "@/app/_components/status";
import { reasonDescription } from "./audit-format";
import { TimelineChart } from "./timeline-chart";

const WINDOW_LABELS: Record<AuditWindow, string> = { hour: "Last hour", day: "Last day" };

export function AuditOverview({
  tenant,
  onShowOrigin,
}: {
  tenant: string | null;
  onShowOrigin: (row: RejectedOriginRow) => void;
}) {
  const [timeWindow, setTimeWindow] = useState<AuditWindow>("hour");
  const [includeTester, setIncludeTester] = useState(false);
  const stats = useQuery(auditStatsQuery(tenant, timeWindow, includeTester));

  return (
    <section className="panel audit-section" aria-labelledby="audit-overview-title">
      <div className="audit-section-head">
        <h2 id="audit-overview-title" className="h3">
          Overview{tenant ? <span className="muted"> · {tenant}</span> : null}
        </h2>
        <fieldset className="audit-segmented">
          <legend className="sr-only">Time window</legend>
          {(Object.keys(WINDOW_LABELS) as AuditWindow[]).map((w) => (
            <button
              key={w}
              type="button"
              className={w === timeWindow ? "btn btn-sm btn-primary" : "btn btn-sm"}
              aria-pressed={w === timeWindow}
              onClick={() => setTimeWindow(w)}
            >
              {WINDOW_LABELS[w]}
            </button>
          ))}
        </fieldset>
        <label className="field-inline small" title="Handshakes made by the Tester page to this gateway's tenants">
          <input type="checkbox" checked={includeTester} onChange={(e) => setIncludeTester(e.target.checked)} />
          Include tester traffic
        </label>
      </div>
      {stats.isPending ? (
        <Loading />
      ) : stats.isError ? (
        <ErrorState error={stats.error} onRetry={() => stats.refetch()} />
      ) : (
        <div className="audit-overview-grid">
          <TimelineChart stats={stats.data} />
          <div>
            <h3 className="h4">Top rejected origins · {WINDOW_LABELS[timeWindow].toLowerCase()}</h3>
            {stats.data.topRejected.length === 0 ? (
              <Empty title="No rejected handshakes">Nothing was refused in this window.</Empty>
            ) : (
              <div className="table-wrap">
                <table className="table table-compact" aria-label="Top rejected origins">
                  <thead>
                    <tr>
                      <th>Origin</th>
                      {tenant ? null : <th>Tenant</th>}
                      <th className="num">Count</th>
                      <th>Reasons</th>
                      <th>Last seen</th>
                    </tr>
                  </thead>
                  <tbody>
                    {stats.data.topRejected.map((row) => (
                      <tr key={`${row.tenant ?? ""} ${row.origin}`}>
                        <td className="mono audit-origin-cell">
                          <button
                            type="button"
                            className="btn-link audit-origin-link"
                            title="Show these events in the history below"
                            onClick={() => onShowOrigin(row)}
                          >
                            {row.origin}
                          </button>
                          {row.allowedBy ? (
                            <span
                              className="badge badge-ok explorer-allowed"
                              data-testid="allowed-since"
                              title={`The current policy of ${row.tenant} allows it (${row.allowedBy}): these refusals came before`}
                            >
                              allowed now{row.allowedBy !== row.origin ? ` by ${row.allowedBy}` : ""}
                            </span>
                          ) : null}
                        </td>
                        {tenant ? null : <td className="mono nowrap">{row.tenant ?? "—"}</td>}
                        <td className="num mono">{row.count.toLocaleString("en-US")}</td>
                        <td>
                          {row.reasons.map((r) => (
                            <span key={r} className="badge badge-error" title={reasonDescription(r)}>
                              {r}
                            </span>
                          ))}
                        </td>
                        <td className="small nowrap">
                          <LastSeen iso={row.lastSeen} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </div>
        </div>
      )}
    </section>
  );
}

/** "5 min ago" depends on the viewer's clock: rendered after hydration (UTC time until then). */
function LastSeen({ iso }: { iso: string }) {
  const hydrated = useHydrated();
  return <span title={absoluteTime(iso)}>{hydrated ? relativeTime(iso) : absoluteTime(iso)}</span>;
}
