"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { Fragment, useEffect, useState } from "react";
import { absoluteTime, duration, relativeTime } from "@/app/_client/format";
import { fleetQuery } from "@/app/_client/queries";
import { Empty, ErrorState, Loading } from "@/app/_components/status";

/**
 * The clock, ticking; null on the server and during hydration (the two clocks differ, and a
 * text rendered from each would not match: React error #418).
 */
function useNow(intervalMs = 1000): number | null {
  const [now, setNow] = useState<number | null>(null);
  useEffect(() => {
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

export function GatewaysView() {
  const fleet = useQuery(fleetQuery());
  const now = useNow();
  const [expanded, setExpanded] = useState<Set<string>>(new Set());

  const toggle = (id: string) =>
    setExpanded((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  if (fleet.isPending) return <Loading />;
  if (fleet.isError) return <ErrorState error={fleet.error} onRetry={() => fleet.refetch()} />;
  const { gateways, tenants, liveWindowMs } = fleet.data;
  const live = gateways.filter((g) => g.live);
  const behind = live.filter((g) => g.behind > 0);

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Gateways</h1>
          <p className="muted">
            Every gateway process reports a heartbeat and the policy version it enforces for each tenant. Live =
            heartbeat within {Math.round(liveWindowMs / 1000)} s. Refreshes every 5 s.
          </p>
        </div>
      </div>
      <div className="summary-cards">
        <div className="card">
          <div className="card-value">{live.length}</div>
          <div className="card-label">live gateways</div>
        </div>
        <div className={behind.length ? "card card-warn" : "card card-ok"}>
          <div className="card-value">{behind.length}</div>
          <div className="card-label">behind the latest policy</div>
        </div>
        <div className="card">
          <div className="card-value">{tenants.length}</div>
          <div className="card-label">tenants</div>
        </div>
      </div>
      {gateways.length === 0 ? (
        <Empty title="No gateway has reported yet">
          Start one with <code>npm run gateway</code> (or <code>npm start</code>) against this database.
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table" aria-label="Gateway instances">
            <thead>
              <tr>
                <th>Gateway</th>
                <th>State</th>
                <th>Up for</th>
                <th>Last heartbeat</th>
                <th>Policy sync</th>
                <th aria-label="Details" />
              </tr>
            </thead>
            <tbody>
              {gateways.map((g) => {
                const state = !g.live ? (g.stoppedAt ? "stopped" : "silent") : g.status === "ok" ? "live" : g.status;
                const open = expanded.has(g.id);
                return (
                  <Fragment key={g.id}>
                    <tr className={!g.live ? "row-muted" : g.behind > 0 ? "row-warn" : undefined}>
                      <td>
                        <div className="mono strong">{g.id}</div>
                        <div className="small muted">
                          {g.host} · pid {g.pid}
                          {g.labels.length > 0 ? <> · labels {g.labels.join(", ")}</> : null}
                        </div>
                      </td>
                      <td>
                        <span
                          className={`badge ${state === "live" ? "badge-ok" : state === "stopped" ? "badge-muted" : state === "silent" ? "badge-error" : "badge-warn"}`}
                          title={
                            state === "degraded" ? "Lost Postgres: enforcing the last policies it loaded" : undefined
                          }
                        >
                          {state}
                        </span>
                      </td>
                      <td title={absoluteTime(g.startedAt)}>
                        {g.live ? (now === null ? "…" : duration(g.startedAt, now)) : "—"}
                      </td>
                      <td title={absoluteTime(g.lastHeartbeatAt)}>
                        {now === null ? absoluteTime(g.lastHeartbeatAt) : relativeTime(g.lastHeartbeatAt, now)}
                      </td>
                      <td>
                        {!g.live ? (
                          <span className="muted">not enforcing</span>
                        ) : g.behind === 0 ? (
                          <span className="badge badge-ok">all {g.drift.length} tenants current</span>
                        ) : (
                          <span className="badge badge-warn">
                            {g.behind} of {g.drift.length} tenants behind
                          </span>
                        )}
                      </td>
                      <td>
                        {g.live ? (
                          <button
                            type="button"
                            className="btn btn-sm"
                            aria-expanded={open}
                            onClick={() => toggle(g.id)}
                          >
                            {open ? "Hide tenants" : "Tenants"}
                          </button>
                        ) : null}
                      </td>
                    </tr>
                    {open ? (
                      <tr className="row-detail">
                        <td colSpan={6}>
                          <table className="table table-compact" aria-label={`Versions enforced by ${g.id}`}>
                            <thead>
                              <tr>
                                <th>Tenant</th>
                                <th className="num">Enforced</th>
                                <th className="num">Latest</th>
                                <th>Status</th>
                                <th>Staged</th>
                              </tr>
                            </thead>
                            <tbody>
                              {g.drift.map((d) => (
                                <tr key={d.slug}>
                                  <td>
                                    <Link href={`/tenants/${d.slug}`} className="mono">
                                      {d.slug}
                                    </Link>
                                  </td>
                                  <td className="num mono">{d.enforced === null ? "—" : `v${d.enforced}`}</td>
                                  <td className="num mono">v{d.latest}</td>
                                  <td>
                                    {d.inSync ? (
                                      <span className="badge badge-ok">current</span>
                                    ) : (
                                      <span className="badge badge-warn" title={absoluteTime(d.behindSince)}>
                                        {d.enforced === null ? "not loaded" : "behind"} since{" "}
                                        {now === null ? absoluteTime(d.behindSince) : relativeTime(d.behindSince, now)}
                                      </span>
                                    )}
                                  </td>
                                  <td data-testid={`staged-${g.id}-${d.slug}`}>
                                    <StagedCell staged={g.stagedVersions[d.slug]} />
                                  </td>
                                </tr>
                              ))}
                            </tbody>
                          </table>
                        </td>
                      </tr>
                    ) : null}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/** What a gateway does with a tenant's staged version: shadow, or a canary it enforces (for everyone or a share). */
function StagedCell({ staged }: { staged: { version: number; stage: string; percent?: number } | undefined }) {
  if (!staged) return <span className="muted">—</span>;
  if (staged.stage === "shadow") {
    return <span className="badge badge-muted">v{staged.version} shadow</span>;
  }
  return (
    <span className="badge badge-warn">
      v{staged.version} canary{staged.percent ? ` (${staged.percent}% of clients)` : " (every client)"}
    </span>
  );
}
