"use client";
/**
 * The explorer (Datadog's log explorer is the bar): time range (presets or absolute), the
 * histogram by reason (click a bar to narrow), facet counts beside the filters, filters from
 * the one field list (server/db/audit-fields.ts: an entry there is a control here), origin
 * exact / contains / starts with, sortable columns, keyset "Load more" pages, saved views and
 * exports of the same filters. Every bit of state is the page URL's (audit-view.tsx).
 */
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { type FormEvent, useEffect, useState } from "react";
import { ApiError, type ValidationIssue } from "@/app/_client/api-client";
import {
  type AuditEvent,
  type AuditHistoryFilter,
  auditFilterKey,
  auditHistogramQuery,
  auditHistoryQuery,
  auditSearchParams,
} from "@/app/_client/queries";
import { Empty, ErrorState, Loading } from "@/app/_components/status";
import { AUDIT_FIELDS } from "@/server/db/audit-fields";
import { parseOrigin } from "@/server/policy/browser";
import { decisionLabel, REASON_OPTIONS, viaLabel } from "./audit-format";
import { EventTable } from "./event-table";
import { FacetPanel } from "./facet-panel";
import { ReasonChart, seriesFilter } from "./reason-chart";
import { SavedViews } from "./saved-views";
import { TimeRange } from "./time-range";

/** The fields the form edits (the tenant is the page's). */
const FORM_FIELDS = AUDIT_FIELDS.filter((f) => f.param !== "tenant");
type OriginMode = "origin" | "originContains" | "originPrefix";
const ORIGIN_MODES: Array<{ mode: OriginMode; label: string }> = [
  { mode: "origin", label: "is" },
  { mode: "originContains", label: "contains" },
  { mode: "originPrefix", label: "starts with" },
];

type Draft = Record<string, string> & { originMode: OriginMode; originText: string };

function draftOf(filter: AuditHistoryFilter): Draft {
  const draft = { originMode: "origin", originText: "" } as Draft;
  for (const f of FORM_FIELDS) draft[f.param] = filter[f.param] ?? "";
  for (const { mode } of ORIGIN_MODES) {
    if (filter[mode]) {
      draft.originMode = mode;
      draft.originText = filter[mode] ?? "";
    }
  }
  return draft;
}

/** An origin as the gateway stores it (canonical), when it parses; otherwise as typed (malformed ones are stored raw). */
function canonicalOrigin(text: string): string {
  const trimmed = text.trim();
  const parsed = parseOrigin(trimmed);
  return parsed.kind === "origin" ? parsed.origin : trimmed;
}

function optionLabel(param: string, value: string): string {
  if (param === "decision") return decisionLabel(value);
  if (param === "via") return viaLabel(value);
  return value;
}

const SORT_LABELS: Record<string, string> = {
  ts: "time",
  count: "count",
  tenant: "tenant",
  reason: "reason",
  origin: "origin",
  remoteAddr: "client address",
};

function sortLabel(sort: string | undefined): string {
  const value = sort ?? "-ts";
  if (value === "-ts") return "newest first";
  if (value === "ts") return "oldest first";
  const column = value.replace(/^-/, "");
  return `by ${SORT_LABELS[column] ?? column}, ${value.startsWith("-") ? "descending" : "ascending"}`;
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
  const histogram = useQuery(auditHistogramQuery(filter));
  const filterKey = JSON.stringify(filter);

  // Filters applied from elsewhere (facets, the chart, top rejected origins, the URL) show up in the form.
  // biome-ignore lint/correctness/useExhaustiveDependencies: keyed on the filter's value, not its identity
  useEffect(() => setDraft(draftOf(filter)), [filterKey]);

  function submit(event: FormEvent) {
    event.preventDefault();
    const next: AuditHistoryFilter = {
      tenant: filter.tenant,
      range: filter.range,
      since: filter.since,
      until: filter.until,
      sort: filter.sort,
    };
    for (const f of FORM_FIELDS) next[f.param] = draft[f.param]?.trim() ?? "";
    const text = draft.originText.trim();
    if (text) next[draft.originMode] = draft.originMode === "origin" ? canonicalOrigin(text) : text;
    const normalized = auditFilterKey(next);
    // Searching again with the same filters looks for new events.
    if (JSON.stringify(normalized) === JSON.stringify(auditFilterKey(filter))) void history.refetch();
    else onApply(normalized);
  }

  function reset() {
    onApply({ tenant: filter.tenant, range: filter.range, since: filter.since, until: filter.until });
  }

  const set = (field: string) => (e: { target: { value: string } }) =>
    setDraft((d) => ({ ...d, [field]: e.target.value }));
  const events = history.data?.pages.flatMap((p) => p.events) ?? [];
  // Folded rows stand for `count` events each: "N events shown" counts what they stand for.
  const eventCount = events.reduce((n, e) => n + e.count, 0);
  const exportHref = (format: "csv" | "ndjson") => {
    const { sort: _sort, ...rest } = filter;
    return `/api/v1/audit/export?${auditSearchParams(rest, { format })}`;
  };

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
      <div className="explorer-toolbar">
        <TimeRange
          range={filter.range}
          since={filter.since}
          until={filter.until}
          onChange={(time) => onApply({ ...filter, range: undefined, since: undefined, until: undefined, ...time })}
        />
        <SavedViews
          query={auditSearchParams(filter)}
          onOpen={(query) => onApply(Object.fromEntries(new URLSearchParams(query)) as AuditHistoryFilter)}
        />
      </div>
      {histogram.isPending ? (
        <Loading label="Counting…" />
      ) : histogram.isError ? null : (
        <ReasonChart
          histogram={histogram.data}
          onSelect={(s) =>
            onApply({
              ...filter,
              reason: undefined,
              kind: filter.kind,
              ...seriesFilter(s.series),
              range: undefined,
              since: s.since,
              until: s.until,
            })
          }
          onSeries={(series) => onApply({ ...filter, reason: undefined, ...seriesFilter(series) })}
        />
      )}
      <div className="explorer-body">
        <FacetPanel filter={filter} onToggle={(param, value) => onApply({ ...filter, [param]: value })} />
        <div className="explorer-results">
          <form className="audit-filters" onSubmit={submit} aria-label="History filters">
            {FORM_FIELDS.map((f) => {
              const options: readonly string[] | undefined =
                "options" in f ? f.options : f.param === "reason" ? REASON_OPTIONS : undefined;
              return (
                <div key={f.param} className="field">
                  <label className="label" htmlFor={`audit-filter-${f.param}`}>
                    {f.label}
                  </label>
                  {options ? (
                    <select id={`audit-filter-${f.param}`} value={draft[f.param]} onChange={set(f.param)}>
                      <option value="">Any</option>
                      {options.map((o) => (
                        <option key={o} value={o}>
                          {optionLabel(f.param, o)}
                        </option>
                      ))}
                    </select>
                  ) : (
                    <input
                      id={`audit-filter-${f.param}`}
                      type="text"
                      value={draft[f.param]}
                      onChange={set(f.param)}
                      spellCheck={false}
                      autoComplete="off"
                      placeholder={f.match === "contains" ? "contains…" : f.match === "prefix" ? "starts with…" : ""}
                    />
                  )}
                </div>
              );
            })}
            <div className="field audit-filter-origin">
              <label className="label" htmlFor="audit-origin-input">
                Origin
              </label>
              <div className="explorer-origin">
                <select
                  aria-label="Origin match"
                  value={draft.originMode}
                  onChange={(e) => setDraft((d) => ({ ...d, originMode: e.target.value as OriginMode }))}
                >
                  {ORIGIN_MODES.map((m) => (
                    <option key={m.mode} value={m.mode}>
                      {m.label}
                    </option>
                  ))}
                </select>
                <input
                  id="audit-origin-input"
                  type="text"
                  value={draft.originText}
                  onChange={set("originText")}
                  placeholder="https://app.example.com"
                  spellCheck={false}
                  autoComplete="off"
                />
              </div>
            </div>
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
            Origin “is” matches the origin as the gateway normalized it (scheme, host, non-default port); “contains” and
            “starts with” ignore case. User agent matches a part of it, path its beginning. Times are your local time.
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
                <EventTable
                  events={events}
                  label="History"
                  onSelect={onSelect}
                  showDate
                  showTenant={!filter.tenant}
                  sort={filter.sort}
                  onSort={(sort) => onApply({ ...filter, sort: sort === "-ts" ? undefined : sort })}
                />
              </div>
              <div className="form-actions audit-more">
                <span className="small muted" aria-live="polite" data-testid="history-count">
                  {eventCount.toLocaleString("en-US")} {eventCount === 1 ? "event" : "events"} shown
                  {eventCount !== events.length
                    ? ` in ${events.length.toLocaleString("en-US")} ${events.length === 1 ? "row" : "rows"} (repeats folded)`
                    : ""}
                  , {sortLabel(filter.sort)}
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
        </div>
      </div>
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
