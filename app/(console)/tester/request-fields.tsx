"use client";
/** The request fields shared by both modes (Origin only for a single handshake). */
import { LIMITS } from "@/server/tester/input";
import styles from "./tester.module.css";
import type { HandshakeForm } from "./tester-client";

export function RequestFields({
  form,
  onChange,
  mode,
  pathEnabled,
}: {
  form: HandshakeForm;
  onChange: (form: HandshakeForm) => void;
  mode: "handshake" | "scan";
  pathEnabled: boolean;
}) {
  const set = <K extends keyof HandshakeForm>(key: K, value: HandshakeForm[K]) => onChange({ ...form, [key]: value });
  return (
    <>
      {mode === "handshake" ? (
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
                  name="origin-mode"
                  value={value}
                  checked={form.originMode === value}
                  onChange={() => set("originMode", value)}
                />
                {label}
              </label>
            ))}
          </div>
          <label className="field">
            <span className="sr-only">Origin</span>
            <input
              type="text"
              aria-label="Origin"
              className="mono"
              value={form.origin}
              maxLength={LIMITS.originLength}
              disabled={form.originMode !== "value"}
              placeholder="https://app.example.com"
              spellCheck={false}
              onChange={(e) => set("origin", e.target.value)}
            />
            <span className="field-hint">
              Sent byte for byte: try lookalikes, a path, two origins separated by a comma…
            </span>
          </label>
        </fieldset>
      ) : null}
      <div className="form-grid">
        <label className="field">
          <span className="label">Path (after /t/&lt;tenant&gt;)</span>
          <input
            type="text"
            className="mono"
            value={pathEnabled ? form.path : ""}
            disabled={!pathEnabled}
            placeholder={pathEnabled ? "/chat?room=1" : "registered endpoints are tested as registered"}
            maxLength={LIMITS.pathLength}
            spellCheck={false}
            onChange={(e) => set("path", e.target.value)}
          />
        </label>
        <label className="field">
          <span className="label">Subprotocols</span>
          <input
            type="text"
            className="mono"
            value={form.subprotocols}
            placeholder="chat.v2, chat.v1"
            spellCheck={false}
            onChange={(e) => set("subprotocols", e.target.value)}
          />
          <span className="field-hint">Offered in this order, comma-separated.</span>
        </label>
        <label className="field">
          <span className="label">Token</span>
          <input
            type="password"
            className="mono"
            value={form.token}
            autoComplete="off"
            maxLength={LIMITS.tokenLength}
            placeholder="eyJhbGciOiJIUzI1NiJ9…"
            onChange={(e) => set("token", e.target.value)}
          />
          <span className="field-hint">Sent as the bearer.&lt;token&gt; subprotocol; never shown back or stored.</span>
        </label>
        <label className="field">
          <span className="label">Cookie</span>
          <input
            type="text"
            className="mono"
            value={form.cookie}
            autoComplete="off"
            placeholder="session=…"
            spellCheck={false}
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
            placeholder="Basic … / Bearer …"
            spellCheck={false}
            onChange={(e) => set("authorization", e.target.value)}
          />
          <span className="field-hint">Cookie and Authorization are sent but only their presence is recorded.</span>
        </label>
      </div>
      <label className="field">
        <span className="label">Extra headers</span>
        <textarea
          className="mono"
          rows={2}
          value={form.headers}
          placeholder={"User-Agent: Mozilla/5.0\nX-Request-Id: 42"}
          spellCheck={false}
          onChange={(e) => set("headers", e.target.value)}
        />
        <span className="field-hint">
          One “Name: value” per line. Host, Upgrade, Connection and Sec-WebSocket-* are set by the tester.
        </span>
      </label>
    </>
  );
}
