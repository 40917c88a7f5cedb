"use client";
/**
 * Facets beside the explorer's filters: for each filterable field (server/db/audit-fields.ts),
 * its most frequent values in the current result with their event counts (folded events count
 * as many as they stand for). A field's own filter is left out of its counts, so the other values
 * stay visible; clicking a value filters by it, clicking the chosen one clears the filter.
 */
import { useQuery } from "@tanstack/react-query";
import { type AuditHistoryFilter, auditFacetsQuery } from "@/app/_client/queries";
import { AUDIT_FIELDS } from "@/server/db/audit-fields";
import { decisionLabel, viaLabel } from "./audit-format";

const FACET_FIELDS = AUDIT_FIELDS.filter((f) => f.facet);

function valueLabel(param: string, value: string): string {
  if (param === "decision") return decisionLabel(value);
  if (param === "via") return viaLabel(value);
  return value;
}

export function FacetPanel({
  filter,
  onToggle,
}: {
  filter: AuditHistoryFilter;
  onToggle: (param: string, value: string | undefined) => void;
}) {
  const facets = useQuery(auditFacetsQuery(filter));
  const data = facets.data;
  return (
    <aside className="explorer-facets" aria-label="Facets" aria-busy={facets.isFetching}>
      <p className="small muted explorer-facets-note" data-testid="facet-scope">
        {facets.isError
          ? "Counts unavailable for these filters."
          : !data
            ? "Counting…"
            : data.complete
              ? `${data.total.toLocaleString("en-US")} matching ${data.total === 1 ? "event" : "events"}`
              : `Counts over the newest ${data.scanned.toLocaleString("en-US")} matching rows`}
      </p>
      {FACET_FIELDS.map((field) => {
        const chosen = filter[field.param as keyof AuditHistoryFilter];
        const values = data?.facets[field.param] ?? [];
        return (
          <section key={field.param} className="explorer-facet" aria-label={`${field.label} facet`}>
            <h3 className="explorer-facet-title">{field.label}</h3>
            {values.length === 0 ? (
              <p className="small muted explorer-facet-empty">{data ? "—" : "…"}</p>
            ) : (
              <ul className="plain-list explorer-facet-values">
                {values.map((v) => {
                  if (v.value === null) {
                    return (
                      <li key="(none)" className="explorer-facet-value muted">
                        <span className="explorer-facet-name">(none)</span>
                        <span className="explorer-facet-count mono">{v.count.toLocaleString("en-US")}</span>
                      </li>
                    );
                  }
                  const pressed = chosen === v.value;
                  // A contains/prefix field's value is one full value: filtering by it narrows to it.
                  return (
                    <li key={v.value}>
                      <button
                        type="button"
                        className={pressed ? "explorer-facet-value is-chosen" : "explorer-facet-value"}
                        aria-pressed={pressed}
                        data-facet={field.param}
                        data-value={v.value}
                        title={
                          pressed
                            ? "Clear this filter"
                            : `Filter: ${field.label} ${field.match === "exact" ? "is" : field.match === "contains" ? "contains" : "starts with"} ${v.value}`
                        }
                        onClick={() => onToggle(field.param, pressed ? undefined : v.value!)}
                      >
                        <span className="explorer-facet-name">{valueLabel(field.param, v.value)}</span>
                        <span className="explorer-facet-count mono">{v.count.toLocaleString("en-US")}</span>
                      </button>
                    </li>
                  );
                })}
              </ul>
            )}
          </section>
        );
      })}
    </aside>
  );
}
