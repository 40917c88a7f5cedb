"use client";
/**
 * The tester's HTTP side (SPEC §4.6, §8): one CORS request — the actual request with any
 * Origin and method, or its preflight with Access-Control-Request-Method/Headers — and the
 * CORS scan (reflected origins, lookalikes, `null`/`*` with credentials, missing Vary:
 * Origin). Runs are React Query mutations against /api/v1/tester/cors and /cors-scan.
 */
import { useMutation } from "@tanstack/react-query";
import { type FormEvent, type ReactNode, useEffect, useState } from "react";
import { api, validationIssues } from "@/app/_client/api-client";
import { Empty } from "@/app/_components/status";
import { CORS_ISSUE_LABELS, type CorsIssue } from "@/server/tester/cors-findings";
import type { CorsInput, CorsScanInput } from "@/server/tester/cors-input";
import { LIMITS } from "@/server/tester/input";
import type { CorsScanResponse, CorsTestResponse } from "@/server/tester/types";
import styles from "./tester.module.css";
import { ATTACKER_ORIGIN, parseHeaderLines, splitList, type TargetChoice } from "./tester-client";
import { useReveal } from "./use-reveal";

const runCors = (body: CorsInput) => api<CorsTestResponse>("/api/v1/tester/cors", { method: "POST", body });
const runCorsScan = (body: CorsScanInput) =>
  api<CorsScanResponse>("/api/v1/tester/cors-scan", { method: "POST", body });

interface CorsForm {
  originMode: "value" | "none" | "null";
  origin: string;
  method: string;
  preflight: boolean;
  requestHeaders: string;
  path: string;
  cookie: string;
  authorization: string;
  headers: string;
}

export function CorsPanel({
  mode,
  target,
  allowedOrigin,
}: {
  mode: "cors" | "cors-scan";
  target: TargetChoice;
  allowedOrigin: string | null;
}) {
  const [form, setForm] = useState<CorsForm>({
    originMode: "value",
    origin: allowedOrigin ?? "",
    method: "GET",
    preflight: false,
    requestHeaders: "",
    path: "",
    cookie: "",
    authorization: "",
    headers: "",
  });
  const [formError, setFormError] = useState<string | null>(null);
  // Start from an origin the allowlist allows once the policy is known, unless the user typed one.
  useEffect(() => {
    if (allowedOrigin)
      setForm((f) => (f.origin === "" && f.originMode === "value" ? { ...f, origin: allowedOrigin } : f));
  }, [allowedOrigin]);
  const single = useMutation({ mutationFn: runCors });
  const scan = useMutation({ mutationFn: runCorsScan });
  const set = <K extends keyof CorsForm>(key: K, value: CorsForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const pathEnabled = target.endpoint === null;

  function submit(event: FormEvent) {
    event.preventDefault();
    const { headers, error } = parseHeaderLines(form.headers);
    setFormError(error);
    if (error) return;
    const base = {
      tenant: target.tenant,
      ...(target.endpoint ? { url: target.endpoint.url } : form.path ? { path: form.path } : {}),
      ...(form.cookie ? { cookie: form.cookie } : {}),
      ...(form.authorization ? { authorization: form.authorization } : {}),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
    };
    if (mode === "cors-scan") return scan.mutate(base);
    const requestHeaders = splitList(form.requestHeaders);
    single.mutate({
      ...base,
      origin: form.originMode === "none" ? null : form.originMode === "null" ? "null" : form.origin,
      method: form.method.trim() || "GET",
      preflight: form.preflight,
      ...(form.preflight && requestHeaders.length > 0 ? { requestHeaders } : {}),
    });
  }

  const running = mode === "cors" ? single.isPending : scan.isPending;
  const error = mode === "cors" ? single.error : scan.error;
  return (
    <div className="stack">
      <form
        className="panel form"
        onSubmit={submit}
        aria-label={mode === "cors" ? "CORS request" : "CORS scan request"}
      >
        {mode === "cors" ? (
          <>
            <fieldset className={styles.fieldset}>
              <legend className="label">Origin header</legend>
              <div className={styles.originModes}>
                {(
                  [
                    ["value", "Send this Origin"],
                    ["none", "No Origin header"],
                    ["null", "Origin: null"],
                  ] as const
                ).map(([value, label]) => (
                  <label key={value} className="field-inline">
                    <input
                      type="radio"
                      name="cors-origin-mode"
                      value={value}
                      checked={form.originMode === value}
                      onChange={() => set("originMode", value)}
                    />
                    {label}
                  </label>
                ))}
                <button
                  type="button"
                  className="btn btn-sm"
                  onClick={() => setForm((f) => ({ ...f, originMode: "value", origin: ATTACKER_ORIGIN }))}
                >
                  Attacker origin
                </button>
              </div>
              <input
                type="text"
                aria-label="CORS Origin"
                className="mono"
                value={form.origin}
                maxLength={LIMITS.originLength}
                disabled={form.originMode !== "value"}
                placeholder="https://app.example.com"
                spellCheck={false}
                onChange={(e) => set("origin", e.target.value)}
              />
            </fieldset>
            <div className="form-grid">
              <label className="field">
                <span className="label">Method</span>
                <input
                  type="text"
                  className="mono"
                  value={form.method}
                  onChange={(e) => set("method", e.target.value)}
                />
                <span className="field-hint">Compared case-sensitively by the policy, as browsers do.</span>
              </label>
              <label className="field-inline">
                <input type="checkbox" checked={form.preflight} onChange={(e) => set("preflight", e.target.checked)} />
                Send the preflight (OPTIONS with Access-Control-Request-Method)
              </label>
              <label className="field">
                <span className="label">Request headers (preflight)</span>
                <input
                  type="text"
                  className="mono"
                  value={form.requestHeaders}
                  disabled={!form.preflight}
                  placeholder="content-type, x-trace-id"
                  spellCheck={false}
                  onChange={(e) => set("requestHeaders", e.target.value)}
                />
              </label>
            </div>
          </>
        ) : (
          <p className="muted">
            Sends the allowlist's bypass variants (an arbitrary third-party origin, <code>null</code>, prefix and suffix
            lookalikes, unescaped dots, scheme and port changes) as HTTP requests, plus a preflight, and reports a{" "}
            <strong>finding</strong> wherever the answer grants an origin the policy refuses, grants <code>null</code>{" "}
            or <code>*</code> with credentials, or grants a specific origin without <code>Vary: Origin</code>.
          </p>
        )}
        <div className="form-grid">
          <label className="field">
            <span className="label">Path (after /t/&lt;tenant&gt;)</span>
            <input
              type="text"
              className="mono"
              value={pathEnabled ? form.path : ""}
              disabled={!pathEnabled}
              placeholder={pathEnabled ? "/api/events" : "registered endpoints are tested as registered"}
              maxLength={LIMITS.pathLength}
              spellCheck={false}
              onChange={(e) => set("path", e.target.value)}
            />
          </label>
          <label className="field">
            <span className="label">Cookie</span>
            <input
              type="text"
              className="mono"
              value={form.cookie}
              autoComplete="off"
              onChange={(e) => set("cookie", e.target.value)}
            />
          </label>
          <label className="field">
            <span className="label">Authorization</span>
            <input
              type="text"
              className="mono"
              value={form.authorization}
              autoComplete="off"
              onChange={(e) => set("authorization", e.target.value)}
            />
          </label>
        </div>
        <label className="field">
          <span className="label">Extra headers</span>
          <textarea
            className="mono"
            rows={2}
            value={form.headers}
            spellCheck={false}
            onChange={(e) => set("headers", e.target.value)}
          />
        </label>
        {formError ? (
          <p className="field-error" role="alert">
            {formError}
          </p>
        ) : null}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={running}>
            {running ? "Running…" : mode === "cors" ? "Send request" : "Run CORS scan"}
          </button>
        </div>
      </form>
      <RunOutcome outcome={mode === "cors" ? (single.data ?? single.error) : (scan.data ?? scan.error)}>
        {error ? (
          <div className="callout callout-error" role="alert">
            <strong>The run was refused.</strong> {error.message}
            {validationIssues(error).map((d) => (
              <div key={`${d.path}:${d.message}`}>
                {d.path ? <code>{d.path}</code> : null} {d.message}
              </div>
            ))}
          </div>
        ) : null}
        {mode === "cors" && single.data ? <CorsResult result={single.data} /> : null}
        {mode === "cors-scan" && scan.data ? <CorsScanResults scan={scan.data} /> : null}
      </RunOutcome>
      {mode === "cors" && !single.data && !single.isPending && !error ? (
        <Empty title="No request yet">Send one to see the status, the CORS headers and the decision trace.</Empty>
      ) : null}
    </div>
  );
}

/** Where a run's answer appears; brought into view when a new one arrives. */
function RunOutcome({ outcome, children }: { outcome: unknown; children: ReactNode }) {
  const ref = useReveal<HTMLDivElement>(outcome);
  return (
    <div ref={ref} tabIndex={-1} className={`stack ${styles.outcome}`} data-testid="run-outcome">
      {children}
    </div>
  );
}

function issueBadges(issues: CorsIssue[]) {
  return issues.map((issue) => (
    <span key={issue} className="badge badge-error" title={issue}>
      {CORS_ISSUE_LABELS[issue]}
    </span>
  ));
}

function CorsResult({ result }: { result: CorsTestResponse }) {
  const rows: Array<[string, string | null]> = [
    ["Access-Control-Allow-Origin", result.cors.allowOrigin],
    ["Access-Control-Allow-Credentials", result.cors.allowCredentials],
    ["Access-Control-Allow-Methods", result.cors.allowMethods],
    ["Access-Control-Allow-Headers", result.cors.allowHeaders],
    ["Access-Control-Expose-Headers", result.cors.exposeHeaders],
    ["Access-Control-Max-Age", result.cors.maxAge],
    ["Vary", result.cors.vary],
  ];
  return (
    <section className="panel stack" aria-labelledby="cors-result-heading" data-testid="cors-result">
      <h2 id="cors-result-heading" className="h3">
        Result
      </h2>
      <p className={styles.statusLine}>{result.statusLine ?? "— no response —"}</p>
      <div className="meta-row">
        <span className={`badge ${result.granted ? "badge-ok" : "badge-muted"}`} data-testid="cors-granted">
          {result.granted ? "a page on this Origin can read the answer" : "not granted to this Origin"}
        </span>
        {result.reason ? <span className="badge badge-info">{result.reason}</span> : null}
        {issueBadges(result.issues)}
      </div>
      {result.error ? (
        <div className="callout callout-error" role="alert">
          <strong>{result.error.code}</strong>: {result.error.message}
        </div>
      ) : null}
      <table className="table table-compact" aria-label="CORS response headers">
        <tbody>
          {rows.map(([name, value]) => (
            <tr key={name}>
              <th scope="row" className={styles.headerName}>
                {name}
              </th>
              <td className={styles.mono}>{value ?? <span className="muted">(absent)</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {result.trace ? (
        <div className="stack" data-testid="cors-trace">
          <h3 className="h4">
            Decision trace <span className="badge badge-version">v{result.policyVersion}</span>
          </h3>
          <p>
            The policy {result.trace.decision.reason === "allowed" ? "allows" : "refuses"} this{" "}
            {result.trace.decision.kind === "preflight" ? "preflight" : "request"}:{" "}
            <strong>{result.trace.decision.reason}</strong>
            {result.trace.decision.matchedPattern ? (
              <>
                {" "}
                — matched <code>{result.trace.decision.matchedPattern}</code>
              </>
            ) : null}
          </p>
          <ol className={styles.steps}>
            {result.trace.steps.map((step) => (
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
        </div>
      ) : (
        <p className="muted small">No decision trace: this target is not enforced by this gateway.</p>
      )}
    </section>
  );
}

function CorsScanResults({ scan }: { scan: CorsScanResponse }) {
  const [onlyFindings, setOnlyFindings] = useState(scan.findings.length > 0);
  const rows = onlyFindings ? scan.findings : scan.results;
  return (
    <section className="stack" aria-labelledby="cors-scan-heading" data-testid="cors-scan-results">
      <h2 id="cors-scan-heading" className="h3">
        CORS scan of <span className="mono">{scan.target.url}</span>{" "}
        <span className="badge badge-version">policy v{scan.policyVersion}</span>
      </h2>
      <div className="summary-cards">
        <div className={scan.summary.findings > 0 ? "card card-warn" : "card card-ok"}>
          <div className="card-value" data-testid="cors-findings-count">
            {scan.summary.findings}
          </div>
          <div className="card-label">findings</div>
        </div>
        <div className="card">
          <div className="card-value">{scan.summary.probes}</div>
          <div className="card-label">probes</div>
        </div>
        <div className="card">
          <div className="card-value">{scan.summary.errors}</div>
          <div className="card-label">inconclusive</div>
        </div>
      </div>
      {scan.notes.map((note) => (
        <div key={note} className="callout callout-warn">
          {note}
        </div>
      ))}
      <label className="field-inline">
        <input type="checkbox" checked={onlyFindings} onChange={(e) => setOnlyFindings(e.target.checked)} /> Only
        findings
      </label>
      <div className="table-wrap">
        <table className="table table-compact" aria-label="CORS scan results">
          <thead>
            <tr>
              <th scope="col">Variant</th>
              <th scope="col">Origin</th>
              <th scope="col">Policy</th>
              <th scope="col">Answer</th>
              <th scope="col">Allow-Origin</th>
              <th scope="col">Findings</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.probe}:${r.origin}`} className={r.finding ? styles.finding : undefined}>
                <td>
                  {r.variant}
                  {r.probe === "preflight" ? <span className="badge badge-muted">preflight</span> : null}
                </td>
                <td className="mono">{r.origin}</td>
                <td>{r.expected}</td>
                <td>
                  {r.observed}
                  {r.status !== null ? ` (${r.status})` : ""}
                </td>
                <td className="mono">{r.cors.allowOrigin ?? "—"}</td>
                <td>{issueBadges(r.issues)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
