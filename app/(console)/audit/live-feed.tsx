"use client";
/** The live feed section: connection badge, decision filter, pause/resume with "N new", lag notice, rows. */
import { useEffect, useState } from "react";
import type { AuditEvent } from "@/app/_client/queries";
import { Empty } from "@/app/_components/status";
import { DECISIONS, decisionLabel } from "./audit-format";
import { EventTable } from "./event-table";
import { type FeedStatus, MAX_ROWS, useLiveFeed } from "./use-live-feed";

const STATUS_BADGE: Record<FeedStatus, { className: string; label: string }> = {
  connecting: { className: "badge badge-info", label: "connecting" },
  live: { className: "badge badge-ok", label: "live" },
  reconnecting: { className: "badge badge-warn", label: "reconnecting" },
  failed: { className: "badge badge-error", label: "disconnected" },
};

export function LiveFeed({
  tenant,
  onSelect,
  onEvents,
}: {
  tenant: string | null;
  onSelect: (event: AuditEvent) => void;
  /** Called when new events arrived (shown, or buffered while paused). */
  onEvents?: () => void;
}) {
  const [decision, setDecision] = useState("");
  const feed = useLiveFeed({ tenant: tenant ?? undefined, decision: decision || undefined });
  const newest = feed.rows[0]?.id ?? null;
  // biome-ignore lint/correctness/useExhaustiveDependencies: fires on new events, not on a new callback
  useEffect(() => {
    if (newest !== null || feed.newCount > 0) onEvents?.();
  }, [newest, feed.newCount]);
  const badge = STATUS_BADGE[feed.status];

  return (
    <section className="panel audit-section" aria-labelledby="audit-live-title">
      <div className="audit-section-head">
        <h2 id="audit-live-title" className="h3">
          Live feed{" "}
          <span className={badge.className} data-testid="feed-status" aria-live="polite">
            {badge.label}
          </span>
        </h2>
        <div className="form-actions">
          <label className="field field-inline">
            <span className="label">Decision</span>
            <select value={decision} onChange={(e) => setDecision(e.target.value)}>
              <option value="">Any</option>
              {DECISIONS.map((d) => (
                <option key={d} value={d}>
                  {decisionLabel(d)}
                </option>
              ))}
            </select>
          </label>
          {feed.paused ? (
            <button type="button" className="btn btn-primary btn-sm" onClick={feed.resume}>
              Resume{feed.newCount > 0 ? ` (${feed.newCount.toLocaleString("en-US")} new)` : ""}
            </button>
          ) : (
            <button type="button" className="btn btn-sm" onClick={feed.pause}>
              Pause
            </button>
          )}
          <button type="button" className="btn btn-ghost btn-sm" onClick={feed.clear} disabled={feed.rows.length === 0}>
            Clear
          </button>
        </div>
      </div>
      <p className="muted small audit-section-note">
        Streamed from the gateway as events are written, filtered there{tenant ? ` (tenant ${tenant})` : ""}. Keeps the
        latest {MAX_ROWS} rows; a reconnect resumes after the last event shown, with nothing missed.
      </p>
      {feed.paused ? (
        <p className="callout callout-info" data-testid="feed-paused">
          Paused: {feed.newCount.toLocaleString("en-US")} new {feed.newCount === 1 ? "event has" : "events have"}{" "}
          arrived
          {feed.newCount > feed.buffered.length ? ` (the latest ${feed.buffered.length} are kept)` : ""}. Resume to show
          them.
        </p>
      ) : null}
      {feed.status === "reconnecting" && feed.problem ? (
        <p className="callout callout-warn" role="status">
          Reconnecting (attempt {feed.attempt}): {feed.problem}.
        </p>
      ) : null}
      {feed.status === "failed" ? (
        <p className="callout callout-error" role="alert">
          The live feed stopped: {feed.problem}
        </p>
      ) : null}
      {feed.lagged ? (
        <div className="callout callout-warn audit-lagged" role="status">
          <span>
            Lagged: {feed.lagged.missed.toLocaleString("en-US")} {feed.lagged.missed === 1 ? "event" : "events"} missed
            while this tab could not keep up, resynced from the database.
          </span>
          <button type="button" className="btn btn-ghost btn-sm" onClick={feed.dismissLagged}>
            Dismiss
          </button>
        </div>
      ) : null}
      {feed.rows.length === 0 ? (
        <Empty title={feed.status === "live" ? "Waiting for events" : "No events yet"}>
          New handshakes{tenant ? ` for ${tenant}` : ""} appear here as the gateway records them.
        </Empty>
      ) : (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard to scroll it
        <section className="table-wrap audit-feed-scroll" tabIndex={0} aria-label="Live events, scrollable">
          <EventTable events={feed.rows} label="Live events" onSelect={onSelect} showTenant={!tenant} />
        </section>
      )}
    </section>
  );
}
