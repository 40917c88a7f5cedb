/** Small shared pieces: loading, error and empty states, forbidden, badges. */
import type { UseQueryResult } from "@tanstack/react-query";
import type { ReactNode } from "react";

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </div>
  );
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="state state-error" role="alert">
      <strong>Could not load this.</strong> {message}{" "}
      {onRetry ? (
        <button type="button" className="btn btn-sm" onClick={onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <strong>{title}</strong>
      {children ? <div className="muted">{children}</div> : null}
    </div>
  );
}

/**
 * The states of a list query: loading, error (with retry), `empty` when the list has no
 * items; `children` renders the items otherwise.
 */
export function QueryList<T>({
  query,
  empty,
  children,
}: {
  query: UseQueryResult<T[]>;
  empty: ReactNode;
  children: (items: T[]) => ReactNode;
}) {
  if (query.isPending) return <Loading />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => query.refetch()} />;
  if (query.data.length === 0) return empty;
  return children(query.data);
}

export function Forbidden({ what }: { what: string }) {
  return (
    <div className="page">
      <h1>Not allowed</h1>
      <div className="state state-error" role="alert">
        Your role does not allow {what}. Ask an admin if you need it.
      </div>
    </div>
  );
}

export function ModeBadge({ mode }: { mode: string }) {
  return mode === "enforce" ? (
    <span className="badge badge-ok">enforce</span>
  ) : (
    <span className="badge badge-warn" title="Nothing is blocked: rejections are only logged">
      report-only
    </span>
  );
}

export function SyncBadge({ sync }: { sync: { live: number; inSync: number } }) {
  if (sync.live === 0) {
    return (
      <span className="badge badge-muted" title="No gateway has sent a heartbeat recently">
        no live gateways
      </span>
    );
  }
  if (sync.inSync === sync.live) {
    return (
      <span className="badge badge-ok" title="Every live gateway enforces the latest version">
        {sync.inSync}/{sync.live} in sync
      </span>
    );
  }
  return (
    <span className="badge badge-warn" title="Some live gateways still enforce an older version">
      {sync.inSync}/{sync.live} in sync
    </span>
  );
}
