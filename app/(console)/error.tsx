"use client";
// A console page failed on the server (e.g. the database is unreachable): say so, offer a retry.
export default function ConsoleError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <div className="page">
      <h1>Something went wrong</h1>
      <div className="state state-error" role="alert">
        This page could not be loaded{error.digest ? ` (reference ${error.digest})` : ""}. The server log has the
        details.{" "}
        <button type="button" className="btn btn-sm" onClick={reset}>
          Try again
        </button>
      </div>
    </div>
  );
}
