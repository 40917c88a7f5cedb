"use client";
/** The rows of the live feed and the history: one line per event; the details button opens the full record. */
import { absoluteTime } from "@/app/_client/format";
import type { AuditEvent } from "@/app/_client/queries";
import { useHydrated } from "@/app/_client/use-hydrated";
import { decisionClass, decisionLabel, formatMs, localDateTime, reasonDescription, timeOfDay } from "./audit-format";

/**
 * A column header: sortable (a button, `aria-sort` on the cell) when the table is given a sort.
 * The first click on a column sorts descending (newest, largest, Z→A), the next one ascending.
 */
function Header({
  column,
  children,
  sort,
  onSort,
  className,
}: {
  column?: string;
  children: string;
  sort?: string;
  onSort?: (sort: string) => void;
  className?: string;
}) {
  if (!column || !onSort) return <th className={className}>{children}</th>;
  const current = sort ?? "-ts";
  const active = current.replace(/^-/, "") === column;
  const descending = current.startsWith("-");
  const next = active && descending ? column : `-${column}`;
  return (
    <th className={className} aria-sort={active ? (descending ? "descending" : "ascending") : "none"}>
      <button
        type="button"
        className="btn-link explorer-sort"
        onClick={() => onSort(next)}
        title={`Sort by ${children.toLowerCase()}, ${next.startsWith("-") ? "descending" : "ascending"}`}
      >
        {children}
        <span aria-hidden="true" className="explorer-sort-mark">
          {active ? (descending ? " ▼" : " ▲") : ""}
        </span>
      </button>
    </th>
  );
}

export function EventTable({
  events,
  label,
  onSelect,
  showDate = false,
  showTenant = true,
  sort,
  onSort,
}: {
  events: AuditEvent[];
  label: string;
  onSelect: (event: AuditEvent) => void;
  showDate?: boolean;
  /** Off when the page is filtered to one tenant (the column would repeat it). */
  showTenant?: boolean;
  /** The API's sort (`-ts`, `count`…); with onSort the headers sort. */
  sort?: string;
  onSort?: (sort: string) => void;
}) {
  const h = { sort, onSort };
  const hydrated = useHydrated();
  return (
    <table className="table table-compact audit-table" aria-label={label}>
      <thead>
        <tr>
          <Header column="ts" {...h}>
            Time
          </Header>
          {showTenant ? (
            <Header column="tenant" {...h}>
              Tenant
            </Header>
          ) : null}
          <Header>Decision</Header>
          <Header column="reason" {...h}>
            Reason
          </Header>
          <Header column="origin" {...h}>
            Origin
          </Header>
          <Header column="count" className="num" {...h}>
            Count
          </Header>
          <Header column="remoteAddr" className="audit-col-client" {...h}>
            Client
          </Header>
        </tr>
      </thead>
      <tbody>
        {events.map((e) => (
          <tr
            key={e.id}
            data-event-id={e.id}
            className={e.decision === "rejected" ? "audit-row audit-row-rejected" : "audit-row"}
            onClick={() => onSelect(e)}
          >
            <td className="mono nowrap">
              <button
                type="button"
                className="btn-link audit-details-button"
                aria-label={`Details of event #${e.id}`}
                title={hydrated ? localDateTime(e.ts) : absoluteTime(e.ts)}
                onClick={(click) => {
                  click.stopPropagation();
                  onSelect(e);
                }}
              >
                {/* Local time zone and locale only after hydration (the server's differ: React #418). */}
                {hydrated ? (showDate ? localDateTime(e.ts) : timeOfDay(e.ts)) : absoluteTime(e.ts)}
              </button>
            </td>
            {showTenant ? <td className="mono nowrap">{e.tenant ?? <span className="muted">—</span>}</td> : null}
            <td>
              <span className={decisionClass(e.decision)}>{decisionLabel(e.decision)}</span>
              {e.kind !== "handshake" ? <span className="badge badge-muted">{e.kind}</span> : null}
              {e.via === "forward_auth" ? (
                <span className="badge badge-muted" title="Decided for a proxy's forward-auth subrequest (/authz)">
                  forward auth
                </span>
              ) : null}
              {e.via === "tester" ? (
                <span
                  className="badge badge-info"
                  title="Made by the Tester page (left out of the overview's statistics)"
                >
                  tester
                </span>
              ) : null}
            </td>
            <td className="mono small" title={reasonDescription(e.reason)}>
              {e.reason ?? <span className="muted">—</span>}
              {e.kind === "close" || e.kind === "revoked" ? (
                <span className="muted">
                  {" "}
                  · {e.closeCode ?? "—"} · {formatMs(e.durationMs)}
                </span>
              ) : null}
            </td>
            <td className="mono audit-origin-cell">
              {e.origin ?? <span className="muted">(none)</span>}
              {e.originNormalized && e.origin !== null && e.originNormalized !== e.origin ? (
                <span className="muted small block">→ {e.originNormalized}</span>
              ) : null}
            </td>
            <td className="num mono">{e.count > 1 ? <strong>×{e.count}</strong> : e.count}</td>
            <td className="mono small audit-col-client">{e.remoteAddr ?? "—"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
