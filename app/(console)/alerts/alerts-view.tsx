"use client";
/**
 * Alerts (admin): webhooks (register; the signing secret is shown once; send a test; enable,
 * disable, new secret, remove), rules (kind, tenant or every tenant, thresholds, webhooks),
 * the alerts raised, and the delivery log with every attempt. Gateways evaluate the rules
 * (one at a time) every few seconds and deliver with retries (README "Alerts").
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { ApiError, api } from "@/app/_client/api-client";
import { absoluteTime, relativeTime } from "@/app/_client/format";
import { alertDeliveriesQuery, alertRulesQuery, alertsQuery, alertWebhooksQuery, keys } from "@/app/_client/queries";
import { useToast } from "@/app/_client/toast";
import { InlineConfirm } from "@/app/_components/inline-confirm";
import { ShownOnceSecret } from "@/app/_components/shown-once-secret";
import { Empty, QueryList } from "@/app/_components/status";
import { alertRuleInput, alertWebhookInput } from "@/app/_lib/alerts/alert-input";
import type { AlertDeliveryView } from "@/app/_lib/alerts/alert-log";
import type { AlertRuleView } from "@/app/_lib/alerts/alert-rules";
import type { AlertWebhookView } from "@/app/_lib/alerts/alert-webhooks";
import { ALERT_KIND_LABELS, ALERT_RULE_KINDS, type AlertRuleKind, alertRuleParams } from "@/server/alerts/alert-rule";

function errorText(e: Error): string {
  return e instanceof ApiError && Array.isArray(e.details)
    ? ((e.details as Array<{ path?: string; message: string }>).map((d) =>
        d.path ? `${d.path}: ${d.message}` : d.message,
      )[0] ?? e.message)
    : e.message;
}

export function AlertsView() {
  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Alerts</h1>
          <p className="muted">
            Gateways check these rules every few seconds (one gateway at a time) and POST each alert as JSON to the
            rule's webhooks when it fires and when it resolves, signed with <code>X-OriginGate-Timestamp</code> and{" "}
            <code>X-OriginGate-Signature: sha256=&lt;HMAC-SHA256 of "timestamp.body"&gt;</code>. A receiver that does
            not answer 2xx is retried with backoff (up to 8 attempts); every attempt is in the delivery log. A host name
            must resolve to public addresses; to send to an internal address, register the address itself.
          </p>
        </div>
      </div>
      <WebhooksSection />
      <RulesSection />
      <RecentAlerts />
      <DeliveryLog />
    </div>
  );
}

type SavedWebhook = { webhook: AlertWebhookView; secret: string | null };

function WebhooksSection() {
  const webhooks = useQuery(alertWebhooksQuery());
  const queryClient = useQueryClient();
  const toast = useToast();
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [removing, setRemoving] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: keys.alertWebhooks(), exact: true });

  const create = useMutation({
    mutationFn: (input: { name: string; url: string }) =>
      api<SavedWebhook>("/api/v1/alert-webhooks", { method: "POST", body: input }),
    onSuccess: (saved) => {
      if (saved.secret) setSecret({ name: saved.webhook.name, secret: saved.secret });
      toast.success(`Added ${saved.webhook.name}`);
    },
    onError: (e) => setError(errorText(e)),
    onSettled: refresh,
  });
  const update = useMutation({
    mutationFn: ({ id, patch }: { id: string; patch: Record<string, unknown> }) =>
      api<SavedWebhook>(`/api/v1/alert-webhooks/${encodeURIComponent(id)}`, { method: "PATCH", body: patch }),
    onSuccess: (saved) => {
      if (saved.secret) setSecret({ name: saved.webhook.name, secret: saved.secret });
      toast.success(`Saved ${saved.webhook.name}`);
    },
    onError: (e) => toast.error(e.message),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: (id: string) => api(`/api/v1/alert-webhooks/${encodeURIComponent(id)}`, { method: "DELETE" }),
    onSuccess: () => {
      setRemoving(null);
      toast.success("Webhook removed");
    },
    onError: (e) => toast.error(e.message),
    onSettled: async () => {
      await refresh();
      await queryClient.invalidateQueries({ queryKey: keys.alertRules(), exact: true });
      await queryClient.invalidateQueries({ queryKey: keys.alertDeliveries(), exact: true });
    },
  });
  const test = useMutation({
    mutationFn: (id: string) =>
      api<AlertDeliveryView>(`/api/v1/alert-webhooks/${encodeURIComponent(id)}/test`, { method: "POST" }),
    onSuccess: (delivery) => {
      if (delivery.status === "delivered")
        toast.success(`Test delivered to ${delivery.webhookName} (${delivery.responseStatus})`);
      else toast.error(`Test to ${delivery.webhookName} failed: ${delivery.error}; it will be retried`);
    },
    onError: (e) => toast.error(e.message),
    onSettled: () => queryClient.invalidateQueries({ queryKey: keys.alertDeliveries(), exact: true }),
  });

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const input = { name: String(form.get("name") ?? ""), url: String(form.get("url") ?? "") };
    const parsed = alertWebhookInput.safeParse(input);
    if (!parsed.success) {
      setError(parsed.error.issues[0]?.message ?? "invalid");
      return;
    }
    setError(null);
    create.mutate(input, { onSuccess: () => formElement.reset() });
  }

  return (
    <section className="stack">
      <h2>Webhooks</h2>
      <form className="panel form" onSubmit={submit} aria-label="Add an alert webhook" noValidate>
        <div className="form-row">
          <label className="field">
            <span className="label">Name</span>
            <input name="name" required placeholder="on-call" aria-invalid={!!error} />
          </label>
          <label className="field grow">
            <span className="label">URL</span>
            <input name="url" required placeholder="https://hooks.example.com/origingate" />
            {error ? <span className="field-error">{error}</span> : null}
          </label>
          <div className="field field-button">
            <button type="submit" className="btn btn-primary" disabled={create.isPending}>
              {create.isPending ? "Adding…" : "Add webhook"}
            </button>
          </div>
        </div>
      </form>
      {secret ? (
        <ShownOnceSecret
          testId="new-alert-secret"
          title={<>Signing secret of “{secret.name}” (copy it now; it is not shown again):</>}
          value={secret.secret}
          onDone={() => setSecret(null)}
        />
      ) : null}
      <QueryList query={webhooks} empty={<Empty title="No alert webhooks" />}>
        {(items) => (
          <div className="table-wrap">
            <table className="table" aria-label="Alert webhooks">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>URL</th>
                  <th>Created</th>
                  <th>Status</th>
                  <th aria-label="Actions" />
                </tr>
              </thead>
              <tbody>
                {items.map((w) => (
                  <tr key={w.id} className={w.enabled ? undefined : "row-muted"}>
                    <td className="strong">{w.name}</td>
                    <td className="mono">{w.url}</td>
                    <td title={absoluteTime(w.createdAt)}>
                      {relativeTime(w.createdAt)}
                      {w.createdBy ? <div className="small muted">{w.createdBy}</div> : null}
                    </td>
                    <td>
                      <span className={`badge ${w.enabled ? "badge-ok" : "badge-muted"}`}>
                        {w.enabled ? "enabled" : "disabled"}
                      </span>
                    </td>
                    <td>
                      <div className="form-actions">
                        <button
                          type="button"
                          className="btn btn-sm"
                          aria-label={`Send test to ${w.name}`}
                          disabled={test.isPending}
                          onClick={() => test.mutate(w.id)}
                        >
                          Send test
                        </button>
                        <button
                          type="button"
                          className="btn btn-sm"
                          aria-label={`${w.enabled ? "Disable" : "Enable"} ${w.name}`}
                          onClick={() => update.mutate({ id: w.id, patch: { enabled: !w.enabled } })}
                        >
                          {w.enabled ? "Disable" : "Enable"}
                        </button>
                        <button
                          type="button"
                          className="btn btn-sm"
                          aria-label={`New secret for ${w.name}`}
                          onClick={() => update.mutate({ id: w.id, patch: { rotateSecret: true } })}
                        >
                          New secret
                        </button>
                        <InlineConfirm
                          confirming={removing === w.id}
                          onStart={() => setRemoving(w.id)}
                          onCancel={() => setRemoving(null)}
                          onConfirm={() => remove.mutate(w.id)}
                          label="Remove…"
                          ariaLabel={`Remove ${w.name}`}
                          confirmLabel="Confirm remove"
                        />
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryList>
    </section>
  );
}

/**
 * A rule's thresholds as the JSON the form takes, with a space after each comma so that the
 * cell wraps between them (one JSON string without spaces would widen the rules table past
 * a desktop page and push its actions out of view).
 */
function thresholdsText(params: Record<string, unknown>): string {
  const entries = Object.entries(params).map(([name, value]) => `${JSON.stringify(name)}: ${JSON.stringify(value)}`);
  return `{${entries.join(", ")}}`;
}

function defaultParams(kind: AlertRuleKind): string {
  return JSON.stringify(alertRuleParams[kind].parse({}));
}

function RulesSection() {
  const rules = useQuery(alertRulesQuery());
  const webhooks = useQuery(alertWebhooksQuery());
  const queryClient = useQueryClient();
  const toast = useToast();
  const [kind, setKind] = useState<AlertRuleKind>("rejection_spike");
  const [params, setParams] = useState(defaultParams("rejection_spike"));
  const [error, setError] = useState<string | null>(null);
  const [removing, setRemoving] = useState<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: keys.alertRules(), exact: true });
  const webhookName = (id: string) => webhooks.data?.find((w) => w.id === id)?.name ?? id.slice(0, 8);

  const create = useMutation({
    mutationFn: (input: Record<string, unknown>) =>
      api<AlertRuleView>("/api/v1/alert-rules", { method: "POST", body: input }),
    onSuccess: (rule) => toast.success(`Added rule ${rule.name}`),
    onError: (e) => setError(errorText(e)),
    onSettled: refresh,
  });
  const update = useMutation({
    mutationFn: ({ id, patch }: { id: string; patch: Record<string, unknown> }) =>
      api<AlertRuleView>(`/api/v1/alert-rules/${encodeURIComponent(id)}`, { method: "PATCH", body: patch }),
    onSuccess: (rule) => toast.success(`Saved ${rule.name}`),
    onError: (e) => toast.error(e.message),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: (id: string) => api(`/api/v1/alert-rules/${encodeURIComponent(id)}`, { method: "DELETE" }),
    onSuccess: () => {
      setRemoving(null);
      toast.success("Rule removed");
    },
    onError: (e) => toast.error(e.message),
    onSettled: refresh,
  });

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    let parsedParams: unknown;
    try {
      parsedParams = JSON.parse(params || "{}");
    } catch {
      setError("Thresholds: not JSON");
      return;
    }
    const webhook = String(form.get("webhook") ?? "");
    const tenant = String(form.get("tenant") ?? "").trim();
    const input = {
      name: String(form.get("name") ?? ""),
      kind,
      tenant: tenant === "" ? null : tenant,
      params: parsedParams,
      webhookIds: webhook === "" ? [] : [webhook],
    };
    const parsed = alertRuleInput.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      setError(issue ? `${issue.path.join(".") || "rule"}: ${issue.message}` : "invalid");
      return;
    }
    setError(null);
    create.mutate(input, { onSuccess: () => formElement.reset() });
  }

  return (
    <section className="stack">
      <h2>Rules</h2>
      <form className="panel form" onSubmit={submit} aria-label="Add an alert rule" noValidate>
        <div className="form-row">
          <label className="field">
            <span className="label">Name</span>
            <input name="name" required placeholder="checkout refusals" aria-invalid={!!error} />
          </label>
          <label className="field">
            <span className="label">Kind</span>
            <select
              name="kind"
              value={kind}
              onChange={(e) => {
                const next = e.target.value as AlertRuleKind;
                setKind(next);
                setParams(defaultParams(next));
              }}
            >
              {ALERT_RULE_KINDS.map((k) => (
                <option key={k} value={k}>
                  {ALERT_KIND_LABELS[k]}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span className="label">Tenant</span>
            <input name="tenant" placeholder="every tenant" />
          </label>
          <label className="field">
            <span className="label">Deliver to</span>
            <select name="webhook" defaultValue="">
              <option value="">every webhook</option>
              {(webhooks.data ?? []).map((w) => (
                <option key={w.id} value={w.id}>
                  {w.name}
                </option>
              ))}
            </select>
          </label>
        </div>
        <div className="form-row">
          <label className="field grow">
            <span className="label">Thresholds (JSON)</span>
            <input name="params" className="mono" value={params} onChange={(e) => setParams(e.target.value)} />
            {error ? <span className="field-error">{error}</span> : null}
          </label>
          <div className="field field-button">
            <button type="submit" className="btn btn-primary" disabled={create.isPending}>
              {create.isPending ? "Adding…" : "Add rule"}
            </button>
          </div>
        </div>
      </form>
      <QueryList query={rules} empty={<Empty title="No alert rules" />}>
        {(items) => (
          <div className="table-wrap">
            <table className="table" aria-label="Alert rules">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Kind</th>
                  <th>Tenant</th>
                  <th>Thresholds</th>
                  <th>Webhooks</th>
                  <th>Status</th>
                  <th aria-label="Actions" />
                </tr>
              </thead>
              <tbody>
                {items.map((r) => (
                  <tr key={r.id} className={r.enabled ? undefined : "row-muted"}>
                    <td className="strong">{r.name}</td>
                    <td>{ALERT_KIND_LABELS[r.kind]}</td>
                    <td>{r.tenant ?? <span className="muted">every tenant</span>}</td>
                    <td className="mono small">{thresholdsText(r.params)}</td>
                    <td>{r.webhookIds.length === 0 ? "every webhook" : r.webhookIds.map(webhookName).join(", ")}</td>
                    <td>
                      <span className={`badge ${r.enabled ? "badge-ok" : "badge-muted"}`}>
                        {r.enabled ? "enabled" : "disabled"}
                      </span>
                    </td>
                    <td>
                      <div className="form-actions">
                        <button
                          type="button"
                          className="btn btn-sm"
                          aria-label={`${r.enabled ? "Disable" : "Enable"} rule ${r.name}`}
                          onClick={() => update.mutate({ id: r.id, patch: { enabled: !r.enabled } })}
                        >
                          {r.enabled ? "Disable" : "Enable"}
                        </button>
                        <InlineConfirm
                          confirming={removing === r.id}
                          onStart={() => setRemoving(r.id)}
                          onCancel={() => setRemoving(null)}
                          onConfirm={() => remove.mutate(r.id)}
                          label="Remove…"
                          ariaLabel={`Remove rule ${r.name}`}
                          confirmLabel="Confirm remove"
                        />
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryList>
    </section>
  );
}

function RecentAlerts() {
  const alerts = useQuery({ ...alertsQuery(), select: (d) => d.alerts });
  return (
    <section className="stack">
      <h2>Recent alerts</h2>
      <QueryList query={alerts} empty={<Empty title="No alerts raised" />}>
        {(items) => (
          // A scroll container of its own (a phone is narrower than the table) with only text inside:
          // it takes focus so that keyboard users can scroll it too (axe: scrollable-region-focusable).
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a focusable scroll region is the WCAG technique for this
          <section className="table-wrap" tabIndex={0} aria-label="Recent alerts (scrolls sideways)">
            <table className="table" aria-label="Recent alerts">
              <thead>
                <tr>
                  <th>Fired</th>
                  <th>Rule</th>
                  <th>Tenant</th>
                  <th>Summary</th>
                  <th>State</th>
                </tr>
              </thead>
              <tbody>
                {items.map((a) => (
                  <tr key={a.id}>
                    <td title={absoluteTime(a.firedAt)}>{relativeTime(a.firedAt)}</td>
                    <td>
                      {a.ruleName}
                      <div className="small muted">{ALERT_KIND_LABELS[a.kind]}</div>
                    </td>
                    <td>{a.tenant ?? "—"}</td>
                    <td>{a.summary}</td>
                    <td>
                      {a.resolvedAt === null ? (
                        <span className="badge badge-error">open</span>
                      ) : (
                        <span className="badge badge-muted" title={absoluteTime(a.resolvedAt)}>
                          resolved
                        </span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        )}
      </QueryList>
    </section>
  );
}

const STATUS_BADGE: Record<AlertDeliveryView["status"], string> = {
  delivered: "badge-ok",
  pending: "badge-warn",
  failed: "badge-error",
};

function DeliveryLog() {
  const deliveries = useQuery({ ...alertDeliveriesQuery(), select: (d) => d.deliveries });
  return (
    <section className="stack">
      <h2>Delivery log</h2>
      <QueryList query={deliveries} empty={<Empty title="Nothing delivered yet" />}>
        {(items) => (
          // A scroll container of its own (a phone is narrower than the table) with only text inside:
          // it takes focus so that keyboard users can scroll it too (axe: scrollable-region-focusable).
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a focusable scroll region is the WCAG technique for this
          <section className="table-wrap" tabIndex={0} aria-label="Delivery log (scrolls sideways)">
            <table className="table" aria-label="Delivery log">
              <thead>
                <tr>
                  <th>Queued</th>
                  <th>Webhook</th>
                  <th>Message</th>
                  <th>Status</th>
                  <th>Attempts</th>
                </tr>
              </thead>
              <tbody>
                {items.map((d) => (
                  <tr key={d.id}>
                    <td title={absoluteTime(d.createdAt)}>{relativeTime(d.createdAt)}</td>
                    <td>{d.webhookName}</td>
                    <td>
                      {d.event}
                      {d.alertId ? <span className="small muted"> (alert {d.alertId})</span> : null}
                    </td>
                    <td>
                      <span className={`badge ${STATUS_BADGE[d.status]}`}>{d.status}</span>
                      {d.status === "pending" && d.nextAttemptAt ? (
                        <div className="small muted">next {relativeTime(d.nextAttemptAt)}</div>
                      ) : null}
                    </td>
                    <td>
                      <ol className="small plain-list">
                        {d.log.map((a) => (
                          <li key={a.at} title={absoluteTime(a.at)}>
                            {a.status !== null ? `HTTP ${a.status}` : "no answer"}
                            {a.error && a.status === null ? `: ${a.error}` : ""}
                          </li>
                        ))}
                      </ol>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        )}
      </QueryList>
    </section>
  );
}
