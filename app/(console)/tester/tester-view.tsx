"use client";
/**
 * The handshake tester: pick a tenant and a target (this gateway, or an endpoint an admin
 * registered), then run one handshake (with presets) or a bypass scan. Runs are React
 * Query mutations against /api/v1/tester/*; the dashboard's server calls the gateway.
 */
import { useMutation, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { type FormEvent, useEffect, useMemo, useState } from "react";
import { errorMessage, validationIssues } from "@/app/_client/api-client";
import { policyQuery, tenantsQuery } from "@/app/_client/queries";
import { useCan } from "@/app/_client/session";
import { Empty, ErrorState, Loading } from "@/app/_components/status";
import { onTabListKeyDown } from "@/app/_components/tab-keys";
import { CorsPanel } from "./cors-panel";
import { EndpointsPanel } from "./endpoints-panel";
import { HandshakeResult } from "./handshake-result";
import { RequestFields } from "./request-fields";
import { ScanResults } from "./scan-results";
import styles from "./tester.module.css";
import {
  EMPTY_FORM,
  endpointsQuery,
  type HandshakeForm,
  handshakeBody,
  PRESETS,
  parseHeaderLines,
  runHandshake,
  runScan,
  sampleAllowedOrigin,
  scanBody,
  type TargetChoice,
} from "./tester-client";
import { useReveal } from "./use-reveal";

type Mode = "handshake" | "scan" | "cors" | "cors-scan";
const MODES = ["handshake", "scan", "cors", "cors-scan"] as const satisfies readonly Mode[];

const MODE_LABELS: Record<Mode, string> = {
  handshake: "Single handshake",
  scan: "Bypass scan",
  cors: "HTTP / CORS request",
  "cors-scan": "CORS scan",
};

export function TesterView({ initialTenant }: { initialTenant: string | null }) {
  const tenants = useQuery(tenantsQuery());
  const [slug, setSlug] = useState<string | null>(initialTenant);
  const [endpointId, setEndpointId] = useState<string>("gateway");
  const [mode, setMode] = useState<Mode>("handshake");
  const [form, setForm] = useState<HandshakeForm>(EMPTY_FORM);
  const [formError, setFormError] = useState<string | null>(null);
  const canManage = useCan("tester.endpoints.write");

  // Default to the first tenant once the list is known (or when the chosen one vanished).
  useEffect(() => {
    const list = tenants.data;
    if (!list || list.length === 0) return;
    if (slug === null || !list.some((t) => t.slug === slug)) setSlug(list[0]!.slug);
  }, [tenants.data, slug]);

  const endpoints = useQuery({ ...endpointsQuery(slug ?? ""), enabled: slug !== null });
  const policy = useQuery({ ...policyQuery(slug ?? ""), enabled: slug !== null });
  const endpoint = endpoints.data?.find((e) => e.id === endpointId) ?? null;
  useEffect(() => {
    if (endpointId !== "gateway" && endpoints.data && !endpoints.data.some((e) => e.id === endpointId)) {
      setEndpointId("gateway");
    }
  }, [endpoints.data, endpointId]);

  const handshake = useMutation({ mutationFn: runHandshake });
  const scan = useMutation({ mutationFn: runScan });
  // A run's answer (or refusal) is brought into view: it lands below the form, often off screen.
  const outcome = useReveal<HTMLDivElement>(
    mode === "handshake" ? (handshake.data ?? handshake.error) : mode === "scan" ? (scan.data ?? scan.error) : null,
  );

  const allowlistPatterns = useMemo(() => policy.data?.origins.map((o) => o.pattern) ?? [], [policy.data]);
  const allowedOrigin = useMemo(() => sampleAllowedOrigin(allowlistPatterns), [allowlistPatterns]);
  // Start from the "allowed origin" preset once the policy is known, unless the user typed something.
  useEffect(() => {
    if (allowedOrigin && form.origin === "" && form.originMode === "value")
      setForm((f) => ({ ...f, origin: allowedOrigin }));
  }, [allowedOrigin, form.origin, form.originMode]);

  function selectTenant(next: string) {
    setSlug(next);
    setEndpointId("gateway");
    setForm((f) => ({ ...f, origin: "" }));
    handshake.reset();
    scan.reset();
    const url = new URL(window.location.href);
    url.searchParams.set("tenant", next);
    window.history.replaceState(null, "", url);
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!slug) return;
    const { headers, error } = parseHeaderLines(form.headers);
    setFormError(error);
    if (error) return;
    const target: TargetChoice = { tenant: slug, endpoint };
    if (mode === "handshake") handshake.mutate(handshakeBody(target, form, headers));
    else scan.mutate(scanBody(target, form, headers));
  }

  if (tenants.isPending) return <Loading />;
  if (tenants.isError) return <ErrorState error={tenants.error} onRetry={() => tenants.refetch()} />;
  if (tenants.data.length === 0) {
    return (
      <div className="page">
        <h1>Handshake tester</h1>
        <Empty title="No tenants yet">
          The tester runs against a tenant's policy. <Link href="/tenants">Create a tenant</Link> first.
        </Empty>
      </div>
    );
  }

  const running = mode === "handshake" ? handshake.isPending : scan.isPending;
  const activeError = mode === "handshake" ? handshake.error : scan.error;
  const requiredSubprotocol = policy.data?.subprotocols[0] ?? null;

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Handshake tester</h1>
          <p className="muted">
            A real WebSocket handshake sent from the gateway, which — unlike a browser — can send any Origin, cookie and
            token and show exactly what came back, and why.
          </p>
        </div>
      </div>

      <section className="panel stack" aria-labelledby="target-heading">
        <h2 id="target-heading" className="h3">
          Target
        </h2>
        <div className="form-grid">
          <label className="field">
            <span className="label">Tenant</span>
            <select value={slug ?? ""} onChange={(e) => selectTenant(e.target.value)}>
              {tenants.data.map((t) => (
                <option key={t.slug} value={t.slug}>
                  {t.name} ({t.slug})
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span className="label">Connect to</span>
            <select
              value={endpoint ? endpoint.id : "gateway"}
              onChange={(e) => setEndpointId(e.target.value)}
              aria-describedby="target-hint"
            >
              <option value="gateway">This gateway — /t/{slug}/…</option>
              {(endpoints.data ?? []).map((e) => (
                <option key={e.id} value={e.id}>
                  {e.label ? `${e.label} — ` : ""}
                  {e.url}
                </option>
              ))}
            </select>
            <span id="target-hint" className="field-hint">
              {endpoint
                ? "A registered endpoint: no decision trace (another server decides), findings are real."
                : "This gateway enforcing the tenant's policy: the answer comes with the decision trace."}
              {endpoints.isError ? ` Endpoints could not be loaded: ${errorMessage(endpoints.error)}` : ""}
            </span>
          </label>
        </div>
        {slug ? <EndpointsPanel slug={slug} endpoints={endpoints.data ?? []} canManage={canManage} /> : null}
      </section>

      <div
        className="tabs"
        role="tablist"
        aria-label="Tester mode"
        onKeyDown={(e) => onTabListKeyDown(e, MODES, mode, setMode)}
      >
        {MODES.map((m) => (
          <button
            key={m}
            type="button"
            role="tab"
            id={`tab-${m}`}
            aria-selected={mode === m}
            aria-controls={`panel-${m}`}
            tabIndex={mode === m ? 0 : -1}
            className={mode === m ? "tab active" : "tab"}
            onClick={() => setMode(m)}
          >
            {MODE_LABELS[m]}
          </button>
        ))}
      </div>

      {mode === "cors" || mode === "cors-scan" ? (
        <div role="tabpanel" id={`panel-${mode}`} aria-labelledby={`tab-${mode}`} className="stack">
          {slug ? (
            <CorsPanel
              key={`${mode}:${slug}:${endpoint?.id ?? "gateway"}`}
              mode={mode}
              target={{ tenant: slug, endpoint }}
              allowedOrigin={allowedOrigin}
            />
          ) : null}
        </div>
      ) : (
        <div role="tabpanel" id={`panel-${mode}`} aria-labelledby={`tab-${mode}`} className="stack">
          <form
            className="panel form"
            onSubmit={submit}
            aria-label={mode === "handshake" ? "Handshake request" : "Scan request"}
          >
            {mode === "handshake" ? (
              <fieldset className={styles.fieldset}>
                <legend className="label">Presets</legend>
                <div className="form-row">
                  {PRESETS.map((preset) => (
                    <button
                      key={preset.id}
                      type="button"
                      className="btn btn-sm"
                      title={preset.description}
                      onClick={() =>
                        setForm((f) => preset.apply(f, { allowedOrigin, subprotocol: requiredSubprotocol }))
                      }
                    >
                      {preset.label}
                    </button>
                  ))}
                </div>
              </fieldset>
            ) : (
              <p className="muted">
                Tries every bypass variant of the tenant's allowlist (lookalike hosts, unescaped dots, scheme downgrade,
                special characters, ports, homoglyphs, <code>null</code>, no Origin) against the target and reports a{" "}
                <strong>finding</strong> wherever the target accepts what the policy refuses. The credential fields
                below are sent with every variant.
              </p>
            )}
            <RequestFields form={form} onChange={setForm} mode={mode} pathEnabled={endpoint === null} />
            {formError ? (
              <p className="field-error" role="alert">
                {formError}
              </p>
            ) : null}
            <div className="form-actions">
              <button type="submit" className="btn btn-primary" disabled={running || !slug}>
                {running
                  ? mode === "handshake"
                    ? "Connecting…"
                    : "Scanning…"
                  : mode === "handshake"
                    ? "Run handshake"
                    : "Run scan"}
              </button>
              {running && mode === "scan" ? <span className="muted">A scan takes up to 25 seconds.</span> : null}
            </div>
          </form>

          <div ref={outcome} tabIndex={-1} className={`stack ${styles.outcome}`} data-testid="run-outcome">
            {activeError ? <RunError error={activeError} /> : null}
            {mode === "handshake" && handshake.data ? <HandshakeResult result={handshake.data} /> : null}
            {mode === "scan" && scan.data ? (
              <ScanResults key={scan.data.runId} scan={scan.data} allowlist={allowlistPatterns} />
            ) : null}
          </div>
          {mode === "handshake" && !handshake.data && !handshake.isPending && !handshake.error ? (
            <Empty title="No handshake yet">Pick a preset or fill in the request, then run it.</Empty>
          ) : null}
          {mode === "scan" && !scan.data && !scan.isPending && !scan.error ? (
            <Empty title="No scan yet">Run a scan to see the matrix of variants.</Empty>
          ) : null}
        </div>
      )}
    </div>
  );
}

function RunError({ error }: { error: Error }) {
  const details = validationIssues(error);
  return (
    <div className="callout callout-error" role="alert">
      <strong>The run was refused.</strong> {error.message}
      {details.length > 0 ? (
        <ul>
          {details.map((d) => (
            <li key={`${d.path}:${d.message}`}>
              {d.path ? <code>{d.path}</code> : null} {d.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
