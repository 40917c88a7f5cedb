"use client";
/** One handshake's answer: status line, verdict, trace, timings, headers, body, what was sent. */
import styles from "./tester.module.css";
import type { HandshakeResponse } from "./tester-client";

function verdict(result: HandshakeResponse): { text: string; badge: string } {
  if (result.upgraded && result.closeCode !== undefined) {
    return { text: `Upgraded, then closed by the server (${result.closeCode})`, badge: "badge-warn" };
  }
  if (result.upgraded) return { text: "Upgraded: the connection was accepted", badge: "badge-ok" };
  if (result.status === null) return { text: "No HTTP answer", badge: "badge-error" };
  return { text: "Refused before the upgrade", badge: "badge-error" };
}

function ms(value: number | null): string {
  return value === null ? "—" : `${value.toFixed(1)} ms`;
}

export function HandshakeResult({ result }: { result: HandshakeResponse }) {
  const v = verdict(result);
  const trace = result.trace;
  return (
    <section className="panel stack" aria-labelledby="result-heading" data-testid="handshake-result">
      <h2 id="result-heading" className="h3">
        Result
      </h2>
      <div>
        <p className={styles.statusLine} data-testid="status-line">
          {result.statusLine ?? "— no response —"}
        </p>
        <div className="meta-row">
          <span className={`badge ${v.badge}`}>{v.text}</span>
          {result.reason ? (
            <span className="badge badge-info" title="X-OriginGate-Reason">
              {result.reason}
            </span>
          ) : null}
          {result.subprotocol ? <span className="badge badge-muted">subprotocol {result.subprotocol}</span> : null}
          <span className="small muted">
            {result.target.kind === "tenant" ? "this gateway" : (result.target.label ?? "registered endpoint")} ·{" "}
            <span className="mono">{result.target.url}</span>
          </span>
        </div>
      </div>
      {result.error ? (
        <div className="callout callout-error" role="alert">
          <strong>{result.error.code}</strong>: {result.error.message}
        </div>
      ) : null}
      {result.closeCode !== undefined ? (
        <div className="callout callout-warn">
          The server accepted the upgrade and then closed with <strong>{result.closeCode}</strong>
          {result.closeReason ? ` (“${result.closeReason}”)` : ""}
          {result.framesBeforeClose ? ` after sending ${result.framesBeforeClose} message(s)` : ""}. Browsers only see
          this as a failed connection; a server should refuse before the upgrade.
        </div>
      ) : null}

      {trace ? (
        <div className="stack" data-testid="decision-trace">
          <h3 className="h4">
            Decision trace <span className="badge badge-version">v{result.policyVersion}</span>
          </h3>
          <p>
            The policy {trace.decision.allowed && !trace.decision.wouldReject ? "allows" : "refuses"} this handshake:{" "}
            <strong>{trace.decision.reason}</strong>
            {trace.decision.matchedPattern ? (
              <>
                {" "}
                — matched <code>{trace.decision.matchedPattern}</code>
              </>
            ) : null}
            {!trace.decision.enforced ? <span className="badge badge-warn">report-only</span> : null}
          </p>
          <ol className={styles.steps}>
            {trace.steps.map((step) => (
              <li key={step.check} className={styles.step}>
                <span className="strong">{step.check}</span>
                <span
                  className={`badge ${step.outcome === "pass" ? "badge-ok" : step.outcome === "fail" ? "badge-error" : "badge-muted"}`}
                >
                  {step.outcome}
                </span>
                <span>{step.message}</span>
              </li>
            ))}
          </ol>
          {trace.closestPattern ? (
            <div className="callout callout-info" data-testid="closest-pattern">
              Closest pattern: <code>{trace.closestPattern.pattern}</code> — {trace.closestPattern.why}
            </div>
          ) : null}
        </div>
      ) : (
        <p className="muted small">No decision trace: this target is not enforced by this gateway.</p>
      )}

      <div className="grid-2">
        <div>
          <h3 className="h4">Timings</h3>
          <table className="table table-compact">
            <tbody>
              <tr>
                <th scope="row">DNS</th>
                <td className="num">{ms(result.timings.dns)}</td>
              </tr>
              <tr>
                <th scope="row">Connect</th>
                <td className="num">{ms(result.timings.connect)}</td>
              </tr>
              <tr>
                <th scope="row">TLS</th>
                <td className="num">{ms(result.timings.tls)}</td>
              </tr>
              <tr>
                <th scope="row">Response</th>
                <td className="num">{ms(result.timings.response)}</td>
              </tr>
              <tr>
                <th scope="row">Total</th>
                <td className="num">{ms(result.timings.total)}</td>
              </tr>
            </tbody>
          </table>
          {result.tls ? (
            <p className="small muted">
              {result.tls.protocol} · {result.tls.cipher} ·{" "}
              {result.tls.authorized ? "certificate trusted" : "not trusted"}
            </p>
          ) : null}
        </div>
        <div>
          <h3 className="h4">Request sent</h3>
          <HeaderTable headers={result.sent} label="Request headers sent" />
        </div>
      </div>

      <div>
        <h3 className="h4">Response headers{result.headersTruncated ? " (truncated)" : ""}</h3>
        {result.rawHeaders.length === 0 ? (
          <p className="muted">None.</p>
        ) : (
          <HeaderTable headers={result.rawHeaders} label="Response headers" />
        )}
      </div>
      {result.body ? (
        <div>
          <h3 className="h4">
            Response body ({result.body.bytes} bytes{result.body.truncated ? ", truncated" : ""})
          </h3>
          <pre className={styles.pre}>{result.body.text || "(empty)"}</pre>
        </div>
      ) : null}
    </section>
  );
}

function HeaderTable({ headers, label }: { headers: Array<[string, string]>; label: string }) {
  return (
    <div className="table-wrap">
      <table className="table table-compact" aria-label={label}>
        <tbody>
          {numbered(headers).map(({ id, name, value }) => (
            <tr key={id}>
              <th scope="row" className={styles.headerName}>
                {name}
              </th>
              <td className={styles.mono}>{value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Header lines may repeat (Set-Cookie): give each a stable position-based id. */
function numbered(headers: Array<[string, string]>): Array<{ id: string; name: string; value: string }> {
  return headers.map(([name, value], position) => ({ id: `${position}:${name}`, name, value }));
}
