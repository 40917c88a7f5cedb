"use client";
/**
 * The full record of one event in a modal dialog (native <dialog>: focus moves in, Escape
 * closes, focus returns), and — for editors, on a handshake refused for
 * origin_not_allowed — "Allow this origin" with a confirm step that names the tenant, the
 * exact origin and the policy version it will be added to.
 *
 * Before anything is offered, the origin is compared with the current allowlist by the
 * tester's own closest-pattern analysis (server/policy/closest-pattern.ts): a lookalike of an
 * allowed host (`https://pay.acme.com.attacker.io`) or a downgrade of an allowed https entry
 * (`http://pay.acme.com`) gets a strong warning in the details and in the confirmation, and a
 * second, explicit confirmation.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { type ReactNode, useEffect, useRef, useState } from "react";
import { ApiError, api, type ValidationIssue } from "@/app/_client/api-client";
import { absoluteTime } from "@/app/_client/format";
import { originAllowed } from "@/app/_client/mutations";
import { type AuditEvent, policyQuery } from "@/app/_client/queries";
import { useCan } from "@/app/_client/session";
import { useToast } from "@/app/_client/toast";
import type { AllowOriginResult } from "@/app/_lib/audit/allow-audit-origin";
import {
  type ClosestPattern,
  closestToOrigin,
  compilePolicy,
  type PolicyDocument,
  parseOrigin,
} from "@/server/policy/browser";
import {
  canAllowOrigin,
  decisionClass,
  decisionLabel,
  formatMs,
  localDateTime,
  reasonDescription,
  viaLabel,
} from "./audit-format";

export function EventDetails({ event, onClose }: { event: AuditEvent | null; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (event && !dialog.open) dialog.showModal();
    if (!event && dialog.open) dialog.close();
  }, [event]);

  return (
    <dialog ref={ref} className="audit-dialog" aria-labelledby="audit-dialog-title" onClose={onClose}>
      {event ? <DetailsBody key={event.id} event={event} onClose={() => ref.current?.close()} /> : null}
    </dialog>
  );
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

const none = <span className="muted">—</span>;

function DetailsBody({ event, onClose }: { event: AuditEvent; onClose: () => void }) {
  const canWrite = useCan("policy.write");
  const folded = event.count > 1;
  return (
    <div className="audit-dialog-body">
      <div className="audit-dialog-head">
        <h2 id="audit-dialog-title" className="h3">
          Event <span className="mono">#{event.id}</span>{" "}
          <span className={decisionClass(event.decision)}>{decisionLabel(event.decision)}</span>
        </h2>
        <button type="button" className="btn btn-sm" onClick={onClose}>
          Close
        </button>
      </div>
      <dl className="audit-fields" data-testid="event-fields">
        <Field label="Kind">{event.kind}</Field>
        <Field label="Via">{viaLabel(event.via)}</Field>
        <Field label={folded ? "First seen" : "Time"}>
          {localDateTime(event.ts)} <span className="muted small">({absoluteTime(event.ts)})</span>
        </Field>
        {folded ? (
          <>
            <Field label="Last seen">
              {localDateTime(event.lastTs ?? event.ts)}{" "}
              <span className="muted small">({absoluteTime(event.lastTs ?? event.ts)})</span>
            </Field>
            <Field label="Count">
              <strong>{event.count.toLocaleString("en-US")}</strong>{" "}
              <span className="muted small">identical events folded into this row</span>
            </Field>
          </>
        ) : (
          <Field label="Count">1</Field>
        )}
        <Field label="Tenant">
          {event.tenant ? (
            <Link href={`/tenants/${encodeURIComponent(event.tenant)}`} className="mono">
              {event.tenant}
            </Link>
          ) : (
            none
          )}
        </Field>
        <Field label="Decision">{decisionLabel(event.decision)}</Field>
        <Field label="Reason">
          {event.reason !== null ? <code>{event.reason}</code> : none}
          {reasonDescription(event.reason) ? (
            <span className="block small muted">{reasonDescription(event.reason)}</span>
          ) : null}
        </Field>
        <Field label="Origin (as sent)">
          {event.origin !== null ? (
            <code className="audit-break">{event.origin}</code>
          ) : (
            <span className="muted">(no Origin header)</span>
          )}
        </Field>
        <Field label="Origin (normalized)">
          {event.originNormalized !== null ? <code className="audit-break">{event.originNormalized}</code> : none}
        </Field>
        <Field label="Matched pattern">{event.matchedPattern ? <code>{event.matchedPattern}</code> : none}</Field>
        <Field label="Policy version">{event.policyVersion !== null ? `v${event.policyVersion}` : none}</Field>
        {event.shadowDecision ? (
          <Field label="Shadow version">
            v{event.shadowVersion} would have {event.shadowDecision === "rejected" ? "refused" : "admitted"} it (
            {event.shadowReason})
          </Field>
        ) : null}
        <Field label="Client address">{event.remoteAddr ? <code>{event.remoteAddr}</code> : none}</Field>
        <Field label="User-Agent">
          {event.userAgent ? <span className="audit-break">{event.userAgent}</span> : none}
        </Field>
        <Field label="Path">{event.path ? <code className="audit-break">{event.path}</code> : none}</Field>
        <Field label="Subprotocol">{event.subprotocol ? <code>{event.subprotocol}</code> : none}</Field>
        {event.kind === "close" || event.closeCode !== null || event.durationMs !== null ? (
          <>
            <Field label="Close code">{event.closeCode ?? none}</Field>
            <Field label="Duration">{formatMs(event.durationMs)}</Field>
          </>
        ) : null}
        <Field label="Gateway">
          <code>{event.gatewayId}</code>
        </Field>
      </dl>
      {event.details ? (
        <div>
          <h3 className="h4">Details</h3>
          <pre className="audit-json">{JSON.stringify(event.details, null, 2)}</pre>
        </div>
      ) : null}
      {canWrite && canAllowOrigin(event) ? <AllowOrigin event={event} /> : null}
      {canWrite && event.decision !== "accepted" && event.kind === "handshake" && !canAllowOrigin(event) ? (
        <p className="field-hint">
          Allowing the origin is offered only for handshakes refused because the origin matched no pattern
          (origin_not_allowed); this one was refused for <code>{event.reason}</code>.
        </p>
      ) : null}
    </div>
  );
}

function AllowOrigin({ event }: { event: AuditEvent }) {
  // canAllowOrigin checked both.
  const tenant = event.tenant as string;
  const origin = event.originNormalized as string;
  const [confirming, setConfirming] = useState(false);
  // A risky origin needs a second, explicit "yes" after the first confirmation.
  const [riskAcknowledged, setRiskAcknowledged] = useState(false);
  const [done, setDone] = useState<AllowOriginResult | null>(null);
  const policy = useQuery(policyQuery(tenant));
  const queryClient = useQueryClient();
  const toast = useToast();
  const allow = useMutation({
    mutationFn: (expectedVersion: number | undefined) =>
      api<AllowOriginResult>(`/api/v1/audit/${encodeURIComponent(event.id)}/allow`, {
        method: "POST",
        body: expectedVersion === undefined ? {} : { expectedVersion },
      }),
    onSuccess: (result) => {
      setDone(result);
      setConfirming(false);
      toast.success(`Allowed ${result.origin} for ${result.tenant} (version ${result.version}).`, {
        href: `/tenants/${encodeURIComponent(result.tenant)}?tab=history`,
        label: "View the tenant's history",
      });
      void originAllowed(queryClient, tenant);
    },
    onError: (error) => {
      if (error instanceof ApiError && error.code === "version_conflict") void policy.refetch();
    },
  });

  const { alreadyBy, closest } = (() => {
    if (!policy.data) return { alreadyBy: null, closest: undefined };
    const parsed = parseOrigin(origin);
    if (parsed.kind !== "origin") return { alreadyBy: null, closest: undefined };
    const { version, ...document } = policy.data;
    const now = Date.now();
    const compiled = compilePolicy(document as PolicyDocument, now, { version, tenant });
    const matched = compiled.match(parsed, now);
    return {
      alreadyBy: matched,
      closest: matched === null ? closestToOrigin(compiled.entries, parsed, now) : undefined,
    };
  })();
  const risky = closest?.risk !== undefined;

  if (done) {
    return (
      <div className="callout callout-info audit-allow-done" role="status">
        Added <code>{done.origin}</code> to the allowlist of <strong>{done.tenant}</strong> as version {done.version}{" "}
        (note “{done.note}”). Gateways enforce it within moments.{" "}
        <Link href={`/tenants/${encodeURIComponent(done.tenant)}?tab=history`}>View the tenant's history</Link>
        {done.warnings.length > 0 ? (
          <ul className="plain-list">
            {done.warnings.map((w) => (
              <li key={`${w.path}:${w.message}`} className="field-warning">
                {w.message}
              </li>
            ))}
          </ul>
        ) : null}
      </div>
    );
  }

  if (!confirming) {
    return (
      <div className="audit-allow">
        {closest ? <ClosestPatternNote closest={closest} origin={origin} /> : null}
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => {
            allow.reset();
            setRiskAcknowledged(false);
            setConfirming(true);
          }}
        >
          Allow this origin…
        </button>
      </div>
    );
  }

  const error = allow.error;
  return (
    <section className="panel panel-warn audit-allow" aria-labelledby="audit-allow-title">
      <h3 id="audit-allow-title" className="h4">
        Allow this origin?
      </h3>
      <dl className="audit-fields">
        <Field label="Tenant">
          <strong className="mono">{tenant}</strong>
        </Field>
        <Field label="Exact origin">
          <code className="audit-break" data-testid="allow-origin-value">
            {origin}
          </code>
        </Field>
        <Field label="Policy">
          {policy.isPending ? (
            "loading…"
          ) : policy.isError ? (
            <span className="field-error">{policy.error.message}</span>
          ) : (
            <>
              version {policy.data.version} → {policy.data.version + 1} (a new revision; note “allowed from audit event
              #{event.id}”)
            </>
          )}
        </Field>
      </dl>
      <p className="small">
        Browsers on exactly this origin — this scheme, host and port, no subdomains — will be able to open WebSockets to{" "}
        {tenant}, with whatever else its credential policy requires.
      </p>
      {closest ? <ClosestPatternNote closest={closest} origin={origin} /> : null}
      {alreadyBy ? (
        <p className="callout callout-info">
          Version {policy.data?.version} already allows this origin (pattern <code>{alreadyBy}</code>); nothing to add.
        </p>
      ) : null}
      {error ? <AllowError error={error} /> : null}
      {risky && riskAcknowledged && closest ? (
        <div className="callout callout-error" data-testid="allow-second-confirmation">
          <strong>Second confirmation.</strong> You are about to allow <code>{origin}</code>, which{" "}
          {closest.risk === "downgrade" ? "downgrades" : "imitates"} the allowed <code>{closest.pattern}</code>. Only
          continue if you know who runs {origin} and that it is meant to connect.
        </div>
      ) : null}
      <div className="form-actions">
        {risky && !riskAcknowledged ? (
          <button
            type="button"
            className="btn btn-danger"
            disabled={allow.isPending || !policy.data || alreadyBy !== null}
            onClick={() => setRiskAcknowledged(true)}
          >
            {closest?.risk === "downgrade" ? "Allow this downgrade…" : "Allow this lookalike…"}
          </button>
        ) : (
          <button
            type="button"
            className={risky ? "btn btn-danger" : "btn btn-primary"}
            disabled={allow.isPending || !policy.data || alreadyBy !== null}
            onClick={() => allow.mutate(policy.data?.version)}
          >
            {allow.isPending ? "Allowing…" : risky ? `Yes, allow ${origin} anyway` : `Allow ${origin}`}
          </button>
        )}
        <button type="button" className="btn" onClick={() => setConfirming(false)} disabled={allow.isPending}>
          Cancel
        </button>
      </div>
    </section>
  );
}

/** The closest allowlist entry, with a strong warning for lookalikes and downgrades. */
function ClosestPatternNote({ closest, origin }: { closest: ClosestPattern; origin: string }) {
  if (closest.risk === undefined) {
    return (
      <p className="callout callout-info" data-testid="closest-pattern">
        Closest allowed pattern: <code>{closest.pattern}</code> — {closest.why}.
      </p>
    );
  }
  const title =
    closest.risk === "downgrade"
      ? `Warning: ${origin} is an insecure downgrade of an allowed origin`
      : `Warning: ${origin} looks like an allowed origin but is not one`;
  return (
    <div className="callout callout-error" role="alert" data-testid="closest-pattern">
      <strong>{title}</strong>
      <p className="small">
        Closest allowed pattern: <code>{closest.pattern}</code> — {closest.why}.{" "}
        {closest.risk === "downgrade"
          ? "Allowing it lets any page served over plain HTTP on that host — which anyone on the network path can inject — open connections as the secure origin."
          : "Attackers register names like this to be mistaken for a trusted site. It is almost never an origin you mean to allow."}
      </p>
    </div>
  );
}

function AllowError({ error }: { error: Error }) {
  if (error instanceof ApiError && error.code === "version_conflict") {
    return (
      <p className="callout callout-warn" role="alert">
        The policy changed while you were looking ({error.message}). The version above is now the current one: check it
        and confirm again.
      </p>
    );
  }
  const details = error instanceof ApiError && Array.isArray(error.details) ? (error.details as ValidationIssue[]) : [];
  return (
    <div className="callout callout-error" role="alert">
      {error.message}
      {details.length > 0 && error instanceof ApiError && error.status === 422 ? (
        <ul className="plain-list">
          {details.map((d) => (
            <li key={`${d.path}:${d.message}`}>
              <code>{d.path}</code>: {d.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
