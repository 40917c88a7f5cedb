"use client";
/**
 * Credential policy editor. Every switch says in plain words what it protects against and
 * what breaks when it is set wrong; validatePolicy's errors and warnings appear beside it.
 */
import { type ReactNode, useState } from "react";
import { fieldTitle, POLICY_LIMIT_RANGES, type PolicyDocument, type PolicyLimits } from "@/server/policy/browser";
import { FieldMessages } from "./field-messages";
import type { PolicyEditor } from "./use-policy-editor";

type Choice<V extends string> = { value: V; label: string; help: string };

interface SwitchSpec<K extends "mode" | "credentials" | "token" | "missingOrigin"> {
  field: K;
  title: string;
  protects: string;
  choices: Array<Choice<PolicyDocument[K]>>;
}

const SWITCHES = [
  {
    field: "mode",
    title: "Mode",
    protects:
      "Enforce refuses every handshake the policy rejects. Report-only lets everything through and only logs what enforce would have refused — use it to roll out a new allowlist without breaking clients, then switch back.",
    choices: [
      { value: "enforce", label: "Enforce", help: "Rejections are refused before the upgrade (403/401/429…)." },
      {
        value: "report-only",
        label: "Report-only",
        help: "Nothing is blocked: a hijacking page would get through. Only for observing.",
      },
    ],
  } satisfies SwitchSpec<"mode">,
  {
    field: "credentials",
    title: "Ambient credentials (Cookie / Authorization headers)",
    protects:
      "Browsers attach your site's cookies to WebSocket handshakes from ANY page (cross-site WebSocket hijacking). Forbidding them forces clients onto explicit tokens, which another site cannot obtain.",
    choices: [
      {
        value: "forbid",
        label: "Forbid",
        help: "Handshakes carrying a Cookie or Authorization header are refused (credentials_forbidden). Breaks clients that rely on session cookies.",
      },
      {
        value: "allow",
        label: "Allow",
        help: "Cookies are accepted: the allowlist becomes the only CSWSH defence. Never combined with a * pattern.",
      },
    ],
  } satisfies SwitchSpec<"credentials">,
  {
    field: "token",
    title: "Handshake token",
    protects:
      "A signed JWT (HS256 with this tenant's secret, audience = tenant slug) sent as a bearer.<jwt> subprotocol or access_token query parameter proves the client was issued access, whatever its Origin.",
    choices: [
      { value: "off", label: "Off", help: "No token is checked." },
      {
        value: "required",
        label: "Required",
        help: "Handshakes without a valid, unexpired token are refused with 401 (token_missing / token_invalid). Clients must be updated first.",
      },
    ],
  } satisfies SwitchSpec<"token">,
  {
    field: "missingOrigin",
    title: "Clients without an Origin header",
    protects:
      "Browsers always send Origin; native apps, servers and CLI tools usually do not. A missing Origin is never matched by * — it is decided here.",
    choices: [
      { value: "reject", label: "Reject", help: "Non-browser clients are refused (origin_missing)." },
      {
        value: "allow",
        label: "Allow",
        help: "Non-browser clients get in. Combine with token: required, or anyone who can reach the gateway can connect.",
      },
    ],
  } satisfies SwitchSpec<"missingOrigin">,
] as const;

/**
 * What each limit protects and what breaks when it is wrong. Keyed by the document's own
 * limit names (the label and range come from the schema), so a new limit does not compile
 * until it has its explanation here.
 */
const LIMIT_HELP: Record<keyof PolicyLimits, string> = {
  maxMessageBytes:
    "Larger messages close the connection with 1009. Too low breaks clients sending big frames; too high lets one client use lots of memory.",
  idleTimeoutSeconds:
    "Connections that answer no ping for this long are terminated. Too low drops clients on slow networks.",
  maxConnections:
    "Per gateway, for this tenant. Beyond it new handshakes get 503 connection_limit. Protects the upstream from floods.",
  maxConnectionsPerIp:
    "One client address's share of the tenant's connections (503 connection_limit beyond), so one address cannot hold every slot. Too low breaks many users behind one NAT.",
  handshakesPerMinutePerIp:
    "Beyond it 429 rate_limited. Too low breaks many users behind one NAT; too high lets one address hammer the gateway.",
  requestsPerMinutePerIp:
    "HTTP and SSE requests through the gateway and forward-auth decisions, per client address (429 beyond).",
  maxTokenLifetimeSeconds:
    "When set, a handshake token must carry iat, and one issued for longer than this is refused (token_invalid). Empty = no maximum.",
};
const LIMIT_KEYS = Object.keys(POLICY_LIMIT_RANGES) as Array<keyof PolicyLimits>;

/** The CORS lists (SPEC §4.6), with what each one does. */
const CORS_LISTS: Array<{ key: "methods" | "allowHeaders" | "exposeHeaders"; help: string; placeholder: string }> = [
  {
    key: "methods",
    help: "Methods a cross-origin page may use (preflight Access-Control-Allow-Methods). Compared case-sensitively; CONNECT, TRACE and TRACK are never allowed.",
    placeholder: "PUT",
  },
  {
    key: "allowHeaders",
    help: "Request headers a page may send cross-origin. Authorization only when named; forbidden headers (Cookie, Host, Sec-*) are refused.",
    placeholder: "X-Requested-With",
  },
  {
    key: "exposeHeaders",
    help: "Response headers a page may read beyond the CORS-safelisted ones.",
    placeholder: "X-Request-Id",
  },
];

function Issues({ editor, path }: { editor: PolicyEditor; path: string }) {
  return (
    <FieldMessages
      errors={editor.errorsByPath.get(path) ?? []}
      warnings={editor.warningsByPath.get(path) ?? []}
      announce
    />
  );
}

function Section({ title, children, changed }: { title: string; children: ReactNode; changed: boolean }) {
  return (
    <fieldset className={changed ? "panel setting setting-changed" : "panel setting"}>
      <legend className="h4">
        {title} {changed ? <span className="badge badge-info">changed</span> : null}
      </legend>
      {children}
    </fieldset>
  );
}

export function CredentialTab({ editor }: { editor: PolicyEditor }) {
  const canWrite = editor.writable;
  const draft = editor.draft;
  const base = editor.base;
  if (!draft || !base) return null;
  const changed = new Set(editor.pending?.fields.map((f) => f.path) ?? []);

  return (
    <div className="stack">
      {editor.readOnly === "role" ? (
        <p className="callout callout-info">Read-only: your role can view this policy but not change it.</p>
      ) : null}
      <div className="grid-2">
        {SWITCHES.map((spec) => (
          <Section key={spec.field} title={spec.title} changed={changed.has(spec.field)}>
            <p className="small muted">{spec.protects}</p>
            <div className="choices" role="radiogroup" aria-label={spec.title}>
              {spec.choices.map((choice) => (
                <label key={choice.value} className={draft[spec.field] === choice.value ? "choice selected" : "choice"}>
                  <input
                    type="radio"
                    name={spec.field}
                    value={choice.value}
                    checked={draft[spec.field] === choice.value}
                    disabled={!canWrite}
                    onChange={() => editor.update((d) => ({ ...d, [spec.field]: choice.value }))}
                  />
                  <span>
                    <strong>{choice.label}</strong>
                    <span className="small muted block">{choice.help}</span>
                  </span>
                </label>
              ))}
            </div>
            <Issues editor={editor} path={spec.field} />
          </Section>
        ))}
      </div>

      <Section title="Subprotocols" changed={changed.has("subprotocols")}>
        <p className="small muted">
          When the list is not empty, a client must offer one of these in Sec-WebSocket-Protocol, and the gateway
          selects it. Protects upstreams that only speak one protocol; a missing entry breaks clients that offer only it
          (subprotocol_not_allowed). Empty = no requirement.
        </p>
        <Subprotocols editor={editor} disabled={!canWrite} />
      </Section>

      <Section title="Limits" changed={[...changed].some((p) => p.startsWith("limits."))}>
        <div className="grid-2">
          {LIMIT_KEYS.map((key) => {
            const range = POLICY_LIMIT_RANGES[key];
            const value = draft.limits[key];
            const nullable = key === "maxTokenLifetimeSeconds";
            return (
              <label key={key} className="field">
                <span className="label">{fieldTitle(`limits.${key}`)}</span>
                <input
                  type="number"
                  inputMode="numeric"
                  min={range.min}
                  max={range.max}
                  step={1}
                  disabled={!canWrite}
                  placeholder={nullable ? "no maximum" : undefined}
                  value={value !== null && Number.isFinite(value) ? value : ""}
                  onChange={(e) =>
                    editor.update((d) => ({
                      ...d,
                      limits: {
                        ...d.limits,
                        [key]: e.target.value === "" ? (nullable ? null : Number.NaN) : Number(e.target.value),
                      },
                    }))
                  }
                />
                <span className="small muted">
                  {LIMIT_HELP[key]} Range {range.min.toLocaleString()}–{range.max.toLocaleString()}.
                </span>
                <Issues editor={editor} path={`limits.${key}`} />
              </label>
            );
          })}
        </div>
      </Section>

      <Section title="CORS for HTTP and SSE" changed={[...changed].some((p) => p.startsWith("cors."))}>
        <p className="small muted">
          The same allowlist and credentials switch answer CORS for plain HTTP and Server-Sent Events through the
          gateway and forward auth. A request from an origin that is not allowed is refused before it reaches your
          service; a preflight is answered by OriginGate itself.
        </p>
        <div className="grid-2">
          {CORS_LISTS.map((list) => (
            <div key={list.key} className="field">
              <span className="label">{fieldTitle(`cors.${list.key}`)}</span>
              <span className="small muted">{list.help}</span>
              <NameList
                editor={editor}
                path={`cors.${list.key}`}
                label={fieldTitle(`cors.${list.key}`)}
                placeholder={list.placeholder}
                values={draft.cors[list.key]}
                onChange={(values) => editor.update((d) => ({ ...d, cors: { ...d.cors, [list.key]: values } }))}
                disabled={!canWrite}
              />
            </div>
          ))}
          <label className="field">
            <span className="label">{fieldTitle("cors.maxAgeSeconds")}</span>
            <input
              type="number"
              inputMode="numeric"
              min={0}
              max={86_400}
              step={1}
              disabled={!canWrite}
              value={Number.isFinite(draft.cors.maxAgeSeconds) ? draft.cors.maxAgeSeconds : ""}
              onChange={(e) =>
                editor.update((d) => ({
                  ...d,
                  cors: { ...d.cors, maxAgeSeconds: e.target.value === "" ? Number.NaN : Number(e.target.value) },
                }))
              }
            />
            <span className="small muted">
              How long a browser may cache a preflight answer (Access-Control-Max-Age); at most one day.
            </span>
            <Issues editor={editor} path="cors.maxAgeSeconds" />
          </label>
        </div>
      </Section>
    </div>
  );
}

function Subprotocols({ editor, disabled }: { editor: PolicyEditor; disabled: boolean }) {
  return (
    <NameList
      editor={editor}
      path="subprotocols"
      label="Allowed subprotocols"
      placeholder="graphql-transport-ws"
      values={editor.draft?.subprotocols ?? []}
      onChange={(subprotocols) => editor.update((d) => ({ ...d, subprotocols }))}
      disabled={disabled}
      emptyText="none (no requirement)"
    />
  );
}

/** An editable list of names (subprotocols, CORS methods and headers) with each entry's issues. */
function NameList(props: {
  editor: PolicyEditor;
  path: string;
  label: string;
  placeholder: string;
  values: readonly string[];
  onChange: (values: string[]) => void;
  disabled: boolean;
  emptyText?: string;
}) {
  const { editor, path, values, disabled } = props;
  const [value, setValue] = useState("");
  function add() {
    const names = value
      .split(/[\s,]+/)
      .map((v) => v.trim())
      .filter(Boolean);
    if (names.length === 0) return;
    props.onChange([...values, ...names]);
    setValue("");
  }
  return (
    <div>
      <ul className="chips" aria-label={props.label}>
        {values.length === 0 ? <li className="muted small">{props.emptyText ?? "none"}</li> : null}
        {values.map((name, index) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a draft may hold the same name twice (flagged by validation)
          <li key={`${name}-${index}`} className="chip">
            <code>{name}</code>
            {!disabled ? (
              <button
                type="button"
                className="chip-remove"
                aria-label={`Remove ${name} from ${props.label}`}
                onClick={() => props.onChange(values.filter((_, i) => i !== index))}
              >
                ×
              </button>
            ) : null}
            <Issues editor={editor} path={`${path}[${index}]`} />
          </li>
        ))}
      </ul>
      {!disabled ? (
        <div className="form-row">
          <label className="field grow">
            <span className="label">Add to {props.label.toLowerCase()}</span>
            <input
              className="mono"
              value={value}
              onChange={(e) => setValue(e.target.value)}
              placeholder={props.placeholder}
              onKeyDown={(e) => {
                if (e.key === "Enter") {
                  e.preventDefault();
                  add();
                }
              }}
            />
          </label>
          <div className="field field-button">
            <button type="button" className="btn" onClick={add}>
              Add
            </button>
          </div>
        </div>
      ) : null}
      <Issues editor={editor} path={path} />
    </div>
  );
}
