"use client";
/**
 * History search: decision, reason, kind, via, origin and time range (the tenant comes from the
 * page), newest first, keyset "Load more" pages (useInfiniteQuery), exports of the same
 * filters as CSV or NDJSON.
 */
import { useInfiniteQuery } from "@tanstack/react-query";
import { type FormEvent, useEffect, useState } from "react";
import { parseOrigin } from "../../../server/policy/browser";
import { ApiError, type ValidationIssue } from "../../_client/api-client";
import { isoToLocalInput, localInputToIso } from "../../_client/format";
import {
  type AuditEvent,
  type AuditHistoryFilter,
  auditFilterKey,
  auditHistoryQuery,
  auditSearchParams,
} from "../../_client/queries";
import { Empty, ErrorState, Loading } from "../../_components/status";
import { DECISIONS, decisionLabel, KINDS, REASON_OPTIONS, VIAS, viaLabel } from "./audit-format";
import { EventTable } from "./event-table";

interface Draft {
  decision: string;
  reason: string;
  kind: string;
  via: string;
  origin: string;
  since: string;
  until: string;
}

function draftOf(filter: AuditHistoryFilter): Draft {
  return {
    decision: filter.decision ?? "",
    reason: filter.reason ?? "",
    kind: filter.kind ?? "",
    via: filter.via ?? "",
    origin: filter.origin ?? "",
    since: isoToLocalInput(filter.since),
    until: isoToLocalInput(filter.until),
  };
}

/** An origin as the gateway stores it (canonical), when it parses; otherwise as typed (malformed ones are stored raw). */
function canonicalOrigin(text: string): string {
  const trimmed = text.trim();
  const parsed = parseOrigin(trimmed);
  return parsed.kind === "origin" ? parsed.origin : trimmed;
}

export function HistoryPanel({
  filter,
  onApply,
  onSelect,
}: {
  filter: AuditHistoryFilter;
  onApply: (filter: AuditHistoryFilter) => void;
  onSelect: (event: AuditEvent) => void;
}) {
  const [draft, setDraft] = useState<Draft>(() => draftOf(filter));
  const history = useInfiniteQuery(auditHistoryQuery(filter));
  const filterKey = JSON.stringify(filter);

  // Filters applied from elsewhere (top rejected origins, the URL) show up in the form.
  // biome-ignore lint/correctness/useExhaustiveDependencies: keyed on the filter's value, not its identity
  useEffect(() => setDraft(draftOf(filter)), [filterKey]);

  function submit(event: FormEvent) {
    event.preventDefault();
    const next = auditFilterKey({
      tenant: filter.tenant,
      decision: draft.decision,
      reason: draft.reason,
      kind: draft.kind,
      via: draft.via,
      origin: draft.origin ? canonicalOrigin(draft.origin) : "",
      since: localInputToIso(draft.since) ?? "",
      until: localInputToIso(draft.until) ?? "",
    });
    // Searching again with the same filters looks for new events.
    if (JSON.stringify(next) === JSON.stringify(auditFilterKey(filter))) void history.refetch();
    else onApply(next);
  }

  function reset() {
    onApply({ tenant: filter.tenant });
  }

  const set = (field: keyof Draft) => (e: { target: { value: string } }) =>
    setDraft((d) => ({ ...d, [field]: e.target.value }));
  const events = history.data?.pages.flatMap((p) => p.events) ?? [];
  const exportHref = (format: "csv" | "ndjson") => `/api/v1/audit/export?${auditSearchParams(filter, { format })}`;

  return (
    <section className="panel audit-section" aria-labelledby="audit-history-title" id="audit-history">
      <div className="audit-section-head">
        <h2 id="audit-history-title" className="h3">
          History{filter.tenant ? <span className="muted"> · {filter.tenant}</span> : null}
        </h2>
        <div className="form-actions">
          <span className="small muted">Export these results:</span>
          <a className="btn btn-sm" href={exportHref("csv")} download>
            CSV
          </a>
          <a className="btn btn-sm" href={exportHref("ndjson")} download>
            NDJSON
          </a>
        </div>
      </div>
      <form className="audit-filters" onSubmit={submit} aria-label="History filters">
        <label className="field">
          <span className="label">Decision</span>
          <select value={draft.decision} onChange={set("decision")}>
            <option value="">Any</option>
            {DECISIONS.map((d) => (
              <option key={d} value={d}>
                {decisionLabel(d)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="label">Reason</span>
          <select value={draft.reason} onChange={set("reason")}>
            <option value="">Any</option>
            {REASON_OPTIONS.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="label">Kind</span>
          <select value={draft.kind} onChange={set("kind")}>
            <option value="">Any</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="label">Via</span>
          <select value={draft.via} onChange={set("via")}>
            <option value="">Any</option>
            {VIAS.map((v) => (
              <option key={v} value={v}>
                {viaLabel(v)}
              </option>
            ))}
          </select>
        </label>
        <label className="field audit-filter-origin">
          <span className="label">Origin</span>
          <input
            type="text"
            value={draft.origin}
            onChange={set("origin")}
            placeholder="https://app.example.com"
            spellCheck={false}
            autoComplete="off"
          />
        </label>
        <label className="field">
          <span className="label">From</span>
          <input type="datetime-local" value={draft.since} onChange={set("since")} />
        </label>
        <label className="field">
          <span className="label">Until</span>
          <input type="datetime-local" value={draft.until} onChange={set("until")} />
        </label>
        <div className="form-actions field-button">
          <button type="submit" className="btn btn-primary">
            Search
          </button>
          <button type="button" className="btn" onClick={reset}>
            Reset
          </button>
        </div>
      </form>
      <p className="field-hint">
        Origin is an exact match on the origin as the gateway normalized it (scheme, host, non-default port). Times are
        your local time.
      </p>
      {history.isPending ? (
        <Loading label="Searching…" />
      ) : history.isError && !history.data ? (
        <HistoryError error={history.error} onRetry={() => history.refetch()} />
      ) : events.length === 0 ? (
        <Empty title="No events match these filters">Widen the time range or clear a filter.</Empty>
      ) : (
        <>
          <div className="table-wrap">
            <EventTable events={events} label="History" onSelect={onSelect} showDate showTenant={!filter.tenant} />
          </div>
          <div className="form-actions audit-more">
            <span className="small muted" aria-live="polite">
              {events.length.toLocaleString("en-US")} {events.length === 1 ? "event" : "events"} shown, newest first
              {history.hasNextPage ? "" : " · end of results"}
            </span>
            {history.hasNextPage ? (
              <button
                type="button"
                className="btn btn-sm"
                onClick={() => history.fetchNextPage()}
                disabled={history.isFetchingNextPage}
              >
                {history.isFetchingNextPage ? "Loading…" : "Load more"}
              </button>
            ) : null}
            {history.isFetchNextPageError ? (
              <span className="field-error" role="alert">
                Could not load more: {history.error?.message}
              </span>
            ) : null}
          </div>
        </>
      )}
    </section>
  );
}

function HistoryError({ error, onRetry }: { error: Error; onRetry: () => void }) {
  if (error instanceof ApiError && error.status === 422 && Array.isArray(error.details)) {
    return (
      <div className="state state-error" role="alert">
        <strong>These filters are not valid.</strong>
        <ul className="plain-list">
          {(error.details as ValidationIssue[]).map((d) => (
            <li key={`${d.path}:${d.message}`}>
              <code>{d.path || "query"}</code>: {d.message}
            </li>
          ))}
        </ul>
      </div>
    );
  }
  return <ErrorState error={error} onRetry={onRetry} />;
}
