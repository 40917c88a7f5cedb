"use client";
/**
 * The scan matrix: summary, notes, variants grouped by the allowlist entry they probe
 * (scan-groups.ts), findings highlighted, filter, CSV/JSON export.
 */
import { useMemo, useState } from "react";
import { groupScanResults } from "./scan-groups";
import styles from "./tester.module.css";
import { download, type ScanResponse, type ScanResult, scanToCsv } from "./tester-client";

function observedText(r: ScanResult): string {
  if (r.status === null) return "error";
  return `${r.observed} (${r.status}${r.reason ? ` ${r.reason}` : ""}${r.closeCode !== undefined ? `, close ${r.closeCode}` : ""})`;
}

export function ScanResults({ scan, allowlist }: { scan: ScanResponse; allowlist: readonly string[] }) {
  const [onlyFindings, setOnlyFindings] = useState(scan.findings.length > 0);
  const groups = useMemo(
    () => groupScanResults(onlyFindings ? scan.findings : scan.results, allowlist),
    [onlyFindings, scan, allowlist],
  );
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  const base = `origingate-scan-${scan.target.tenant}-${stamp}`;
  return (
    <section className="stack" aria-labelledby="scan-heading" data-testid="scan-results">
      <h2 id="scan-heading" className="h3">
        Scan of <span className="mono">{scan.target.url}</span>{" "}
        <span className="badge badge-version">policy v{scan.policyVersion}</span>
      </h2>
      <div className="summary-cards">
        <div className={scan.summary.findings > 0 ? "card card-warn" : "card card-ok"}>
          <div className="card-value" data-testid="findings-count">
            {scan.summary.findings}
          </div>
          <div className="card-label">findings (accepted although the policy refuses)</div>
        </div>
        <div className="card">
          <div className="card-value">{scan.summary.variants}</div>
          <div className="card-label">variants tried</div>
        </div>
        <div className="card">
          <div className="card-value">{scan.summary.mismatches}</div>
          <div className="card-label">refused although allowed</div>
        </div>
        <div className="card">
          <div className="card-value">{scan.summary.errors}</div>
          <div className="card-label">inconclusive (errors, 429, 5xx)</div>
        </div>
      </div>
      {scan.findings.length > 0 ? (
        <div className="callout callout-error" role="alert">
          The target accepted {scan.findings.length} origin{scan.findings.length === 1 ? "" : "s"} that the tenant's
          policy refuses: a page on such an origin can open this socket.
        </div>
      ) : (
        <div className="callout callout-info">No finding: the target refused every variant the policy refuses.</div>
      )}
      {scan.notes.map((note) => (
        <div key={note} className="callout callout-warn">
          {note}
        </div>
      ))}
      <div className="toolbar">
        <label className="field-inline">
          <input type="checkbox" checked={onlyFindings} onChange={(e) => setOnlyFindings(e.target.checked)} /> Only
          findings
        </label>
        <button
          type="button"
          className="btn btn-sm"
          onClick={() => download(`${base}.csv`, "text/csv", scanToCsv(scan))}
        >
          Download CSV
        </button>
        <button
          type="button"
          className="btn btn-sm"
          onClick={() => download(`${base}.json`, "application/json", `${JSON.stringify(scan, null, 2)}\n`)}
        >
          Download JSON
        </button>
        <span className="muted small">{scan.durationMs} ms</span>
      </div>
      {groups.length === 0 ? (
        <p className="muted">Nothing to show with this filter.</p>
      ) : (
        <div className="table-wrap">
          <table className="table table-compact" aria-label="Scan results">
            <thead>
              <tr>
                <th scope="col">Variant</th>
                <th scope="col">Origin sent</th>
                <th scope="col">Policy</th>
                <th scope="col">Target</th>
                <th scope="col">Finding</th>
              </tr>
            </thead>
            {groups.map((group) => (
              <tbody key={group.pattern ?? "\u0000none"} aria-label={group.pattern ?? "Not tied to an entry"}>
                <tr className={styles.groupHead}>
                  <th scope="rowgroup" colSpan={5}>
                    {group.pattern === null ? (
                      "Not tied to an allowlist entry"
                    ) : (
                      <>
                        Entry <span className={styles.mono}>{group.pattern}</span>
                      </>
                    )}{" "}
                    <span className="small muted">
                      {group.results.length} variant{group.results.length === 1 ? "" : "s"}
                    </span>{" "}
                    {group.findings > 0 ? (
                      <span className="badge badge-error">
                        {group.findings} finding{group.findings === 1 ? "" : "s"}
                      </span>
                    ) : null}
                  </th>
                </tr>
                {group.results.map((r) => (
                  <tr
                    key={`${r.origin ?? "\u0000none"}`}
                    className={r.finding ? styles.finding : r.observed === "error" ? "row-warn" : undefined}
                  >
                    <td>
                      {r.variant}
                      {r.patterns.length > 1 ? (
                        <div className="small muted">also from {r.patterns.slice(1).join(", ")}</div>
                      ) : null}
                    </td>
                    <td className={styles.mono}>{r.origin === null ? <em>no Origin header</em> : r.origin}</td>
                    <td>
                      <span className={`badge ${r.expected === "allow" ? "badge-ok" : "badge-muted"}`}>
                        {r.expected}
                      </span>
                      <div className="small muted">{r.expectedReason}</div>
                    </td>
                    <td>
                      {observedText(r)}
                      {r.detail ? <div className="small muted">{r.detail}</div> : null}
                    </td>
                    <td>
                      {r.finding ? (
                        <span className="badge badge-error">finding</span>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            ))}
          </table>
        </div>
      )}
    </section>
  );
}
