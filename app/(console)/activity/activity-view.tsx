"use client";
import { useInfiniteQuery } from "@tanstack/react-query";
import { usePathname, useRouter } from "next/navigation";
import { type FormEvent, useState } from "react";
import { absoluteTime, relativeTime } from "@/app/_client/format";
import { ACTIVITY_FILTER_FIELDS, type ActivityFilter, activityFilterKey, activityQuery } from "@/app/_client/queries";
import { Empty, ErrorState, Loading } from "@/app/_components/status";

const ACTION_FAMILIES = ["auth", "policy", "tenant", "token", "user", "session", "tester_endpoint", "secrets"];

export function ActivityView({ initialFilter }: { initialFilter: ActivityFilter }) {
  const router = useRouter();
  const pathname = usePathname();
  const [filter, setFilter] = useState<ActivityFilter>(activityFilterKey(initialFilter));
  const query = useInfiniteQuery(activityQuery(filter));

  function apply(next: ActivityFilter) {
    const clean = activityFilterKey(next);
    setFilter(clean);
    const params = new URLSearchParams(clean as Record<string, string>);
    router.replace(params.size > 0 ? `${pathname}?${params}` : pathname, { scroll: false });
  }

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    apply(Object.fromEntries(ACTIVITY_FILTER_FIELDS.map((f) => [f, String(form.get(f) ?? "")])));
  }

  const entries = query.data?.pages.flatMap((p) => p.entries) ?? [];
  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Activity</h1>
          <p className="muted">
            Every change (tenants, policies, users and roles, tokens, secrets, tester endpoints) and every sign-in, with
            who, when, from where. Append-only: the database refuses to change or delete an entry.
          </p>
        </div>
      </div>
      <form className="panel form" onSubmit={submit} aria-label="Filter the activity log" key={JSON.stringify(filter)}>
        <div className="form-row">
          <label className="field grow">
            <span className="label">Actor (e-mail, token:name, ctl…)</span>
            <input name="actor" defaultValue={filter.actor ?? ""} />
          </label>
          <label className="field">
            <span className="label">Action (e.g. policy.save, or auth)</span>
            <input name="action" defaultValue={filter.action ?? ""} list="activity-actions" />
            <datalist id="activity-actions">
              {ACTION_FAMILIES.map((a) => (
                <option key={a} value={a} />
              ))}
            </datalist>
          </label>
          <label className="field grow">
            <span className="label">Target (tenant, e-mail, token name)</span>
            <input name="target" defaultValue={filter.target ?? ""} />
          </label>
          <div className="field field-button">
            <button type="submit" className="btn btn-primary">
              Filter
            </button>
          </div>
          <div className="field field-button">
            <button type="button" className="btn" onClick={() => apply({})}>
              Clear
            </button>
          </div>
        </div>
      </form>
      {query.isPending ? (
        <Loading />
      ) : query.isError ? (
        <ErrorState error={query.error} onRetry={() => query.refetch()} />
      ) : entries.length === 0 ? (
        <Empty title="No activity matches">Change or clear the filters.</Empty>
      ) : (
        <div className="table-wrap">
          <table className="table" aria-label="Activity">
            <thead>
              <tr>
                <th>When</th>
                <th>Actor</th>
                <th>Action</th>
                <th>Target</th>
                <th>What happened</th>
                <th>Address</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id} data-action={e.action}>
                  <td title={absoluteTime(e.ts)}>{relativeTime(e.ts)}</td>
                  <td>
                    <button type="button" className="link-button" onClick={() => apply({ ...filter, actor: e.actor })}>
                      {e.actor}
                    </button>
                  </td>
                  <td>
                    <button
                      type="button"
                      className="link-button mono"
                      onClick={() => apply({ ...filter, action: e.action })}
                    >
                      {e.action}
                    </button>
                  </td>
                  <td>
                    {e.target ? (
                      <button
                        type="button"
                        className="link-button"
                        onClick={() => apply({ ...filter, target: e.target ?? "" })}
                      >
                        {e.target}
                      </button>
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                  <td>{e.summary}</td>
                  <td className="mono small">{e.remoteAddr ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {query.hasNextPage ? (
        <button type="button" className="btn" onClick={() => query.fetchNextPage()} disabled={query.isFetchingNextPage}>
          {query.isFetchingNextPage ? "Loading…" : "Older entries"}
        </button>
      ) : null}
    </div>
  );
}
