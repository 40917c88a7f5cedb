"use client";
/**
 * Registered endpoints of the selected tenant: everyone who may run the tester sees them;
 * admins add and remove them (the tester connects nowhere else outside this gateway).
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { errorMessage, validationIssues } from "@/app/_client/api-client";
import { keys } from "@/app/_client/queries";
import { useToast } from "@/app/_client/toast";
import { InlineConfirm } from "@/app/_components/inline-confirm";
import { registerEndpoint, removeEndpoint, type TesterEndpointView } from "./tester-client";

export function EndpointsPanel({
  slug,
  endpoints,
  canManage,
}: {
  slug: string;
  endpoints: TesterEndpointView[];
  canManage: boolean;
}) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [url, setUrl] = useState("");
  const [label, setLabel] = useState("");
  const [confirming, setConfirming] = useState<string | null>(null);
  const invalidate = () => queryClient.invalidateQueries({ queryKey: keys.endpoints(slug), exact: true });
  const add = useMutation({
    mutationFn: () => registerEndpoint(slug, { url, ...(label.trim() ? { label: label.trim() } : {}) }),
    onSuccess: async (endpoint) => {
      setUrl("");
      setLabel("");
      toast.success(`Registered ${endpoint.url}`);
      await invalidate();
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => removeEndpoint(slug, id),
    onSuccess: async () => {
      setConfirming(null);
      toast.success("Endpoint removed");
      await invalidate();
    },
    onError: (error) => toast.error(errorMessage(error)),
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    add.mutate();
  }

  const addError = add.error;
  const urlIssue = validationIssues(addError).find((d) => d.path === "url")?.message;

  if (!canManage && endpoints.length === 0) {
    return (
      <p className="small muted">No registered endpoints: an admin can register the tenant's own servers as targets.</p>
    );
  }
  return (
    <details open={canManage && endpoints.length === 0}>
      <summary>
        Registered endpoints ({endpoints.length}){canManage ? " — manage" : ""}
      </summary>
      <div className="stack">
        {endpoints.length > 0 ? (
          <ul className="plain-list">
            {endpoints.map((e) => (
              <li key={e.id} className="form-row">
                <span className="mono">{e.url}</span>
                {e.label ? <span className="muted">{e.label}</span> : null}
                {canManage ? (
                  <InlineConfirm
                    confirming={confirming === e.id}
                    onStart={() => setConfirming(e.id)}
                    onCancel={() => setConfirming(null)}
                    onConfirm={() => remove.mutate(e.id)}
                    pending={remove.isPending}
                    label="Remove…"
                    ariaLabel={`Remove ${e.url}`}
                    confirmLabel="Remove"
                    cancelLabel="Keep"
                  />
                ) : null}
              </li>
            ))}
          </ul>
        ) : null}
        {canManage ? (
          <form className="form-row" onSubmit={submit} aria-label="Register an endpoint">
            <label className="field grow">
              <span className="label">Endpoint URL</span>
              <input
                type="text"
                className="mono"
                value={url}
                required
                placeholder="wss://chat.internal.example.com/socket"
                spellCheck={false}
                aria-invalid={urlIssue ? true : undefined}
                aria-describedby={urlIssue ? "endpoint-url-error" : undefined}
                onChange={(e) => setUrl(e.target.value)}
              />
              {urlIssue ? (
                <span id="endpoint-url-error" className="field-error">
                  {urlIssue}
                </span>
              ) : null}
            </label>
            <label className="field">
              <span className="label">Label</span>
              <input
                type="text"
                value={label}
                maxLength={100}
                placeholder="chat service (staging)"
                onChange={(e) => setLabel(e.target.value)}
              />
            </label>
            <button type="submit" className="btn field-button" disabled={add.isPending || url.trim() === ""}>
              {add.isPending ? "Registering…" : "Register endpoint"}
            </button>
            {addError && !urlIssue ? (
              <p className="field-error" role="alert">
                {errorMessage(addError)}
              </p>
            ) : null}
          </form>
        ) : null}
        <p className="small muted">
          The tester connects only to this gateway's tenants and to endpoints registered here — exactly as registered,
          redirects never followed.
        </p>
      </div>
    </details>
  );
}
