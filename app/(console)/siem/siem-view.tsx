"use client";
/**
 * SIEM destinations (admin): register a syslog (tcp://host:port, RFC 5424) or webhook (signed
 * NDJSON) destination, enable or disable it, rotate a webhook's secret (shown once), remove.
 * Every gateway picks changes up within seconds; what each gateway delivered, holds and
 * dropped is on its /healthz and /metrics (the README's "SIEM export").
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { ApiError, api } from "@/app/_client/api-client";
import { absoluteTime, relativeTime } from "@/app/_client/format";
import { keys, siemDestinationsQuery } from "@/app/_client/queries";
import { useToast } from "@/app/_client/toast";
import { InlineConfirm } from "@/app/_components/inline-confirm";
import { ShownOnceSecret } from "@/app/_components/shown-once-secret";
import { Empty, QueryList } from "@/app/_components/status";
import type { SiemDestinationView } from "@/app/_lib/siem/list-siem-destinations";
import { siemDestinationInput } from "@/app/_lib/siem/siem-destination-input";

type Saved = { destination: SiemDestinationView; secret: string | null };

export function SiemView() {
  const destinations = useQuery(siemDestinationsQuery());
  const queryClient = useQueryClient();
  const toast = useToast();
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [removing, setRemoving] = useState<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: keys.siemDestinations(), exact: true });

  const update = useMutation({
    mutationFn: ({ id, patch }: { id: string; patch: Record<string, unknown> }) =>
      api<Saved>(`/api/v1/siem-destinations/${encodeURIComponent(id)}`, { method: "PATCH", body: patch }),
    onSuccess: (saved) => {
      if (saved.secret) setSecret({ name: saved.destination.name, secret: saved.secret });
      toast.success(`Saved ${saved.destination.name}`);
    },
    onError: (error) => toast.error(error.message),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: (id: string) => api(`/api/v1/siem-destinations/${encodeURIComponent(id)}`, { method: "DELETE" }),
    onSuccess: () => {
      setRemoving(null);
      toast.success("Destination removed");
    },
    onError: (error) => toast.error(error.message),
    onSettled: refresh,
  });

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>SIEM export</h1>
          <p className="muted">
            Every gateway streams the audit events it writes, as soon as they are stored, to each enabled destination:
            syslog (RFC 5424 over TCP, octet-counted; the event id is the MSGID) or a webhook (NDJSON, signed with{" "}
            <code>X-OriginGate-Signature</code>). A destination that is down gets the backlog when it returns; what a
            gateway had to drop is counted on its <code>/healthz</code> and <code>/metrics</code> and announced to the
            destination. A host name must resolve to public addresses; to send to an internal address, register the
            address itself.
          </p>
        </div>
      </div>
      <CreateDestinationForm onSecret={setSecret} />
      {secret ? (
        <ShownOnceSecret
          testId="new-siem-secret"
          title={<>Signing secret of “{secret.name}” (copy it now; it is not shown again):</>}
          value={secret.secret}
          onDone={() => setSecret(null)}
        />
      ) : null}
      <QueryList query={destinations} empty={<Empty title="No SIEM destinations" />}>
        {(items) => (
          <div className="table-wrap">
            <table className="table" aria-label="SIEM destinations">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Kind</th>
                  <th>URL</th>
                  <th>Created</th>
                  <th>Status</th>
                  <th aria-label="Actions" />
                </tr>
              </thead>
              <tbody>
                {items.map((d) => (
                  <tr key={d.id} className={d.enabled ? undefined : "row-muted"}>
                    <td className="strong">{d.name}</td>
                    <td>{d.kind}</td>
                    <td className="mono">{d.url}</td>
                    <td title={absoluteTime(d.createdAt)}>
                      {relativeTime(d.createdAt)}
                      {d.createdBy ? <div className="small muted">{d.createdBy}</div> : null}
                    </td>
                    <td>
                      <span className={`badge ${d.enabled ? "badge-ok" : "badge-muted"}`}>
                        {d.enabled ? "enabled" : "disabled"}
                      </span>
                    </td>
                    <td>
                      <div className="form-actions">
                        <button
                          type="button"
                          className="btn btn-sm"
                          aria-label={`${d.enabled ? "Disable" : "Enable"} ${d.name}`}
                          onClick={() => update.mutate({ id: d.id, patch: { enabled: !d.enabled } })}
                        >
                          {d.enabled ? "Disable" : "Enable"}
                        </button>
                        {d.kind === "webhook" ? (
                          <button
                            type="button"
                            className="btn btn-sm"
                            aria-label={`New secret for ${d.name}`}
                            onClick={() => update.mutate({ id: d.id, patch: { rotateSecret: true } })}
                          >
                            New secret
                          </button>
                        ) : null}
                        <InlineConfirm
                          confirming={removing === d.id}
                          onStart={() => setRemoving(d.id)}
                          onCancel={() => setRemoving(null)}
                          onConfirm={() => remove.mutate(d.id)}
                          label="Remove…"
                          ariaLabel={`Remove ${d.name}`}
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
    </div>
  );
}

function CreateDestinationForm({ onSecret }: { onSecret: (secret: { name: string; secret: string }) => void }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [error, setError] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: (input: { name: string; kind: "syslog" | "webhook"; url: string }) =>
      api<Saved>("/api/v1/siem-destinations", { method: "POST", body: input }),
    onSuccess: async (saved) => {
      if (saved.secret) onSecret({ name: saved.destination.name, secret: saved.secret });
      toast.success(`Added ${saved.destination.name}`);
      await queryClient.invalidateQueries({ queryKey: keys.siemDestinations(), exact: true });
    },
    onError: (e) => {
      setError(
        e instanceof ApiError && Array.isArray(e.details)
          ? ((e.details as Array<{ message: string }>)[0]?.message ?? e.message)
          : e.message,
      );
    },
  });
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const input = {
      name: String(form.get("name") ?? ""),
      kind: String(form.get("kind") ?? "syslog") as "syslog" | "webhook",
      url: String(form.get("url") ?? ""),
    };
    const parsed = siemDestinationInput.safeParse(input);
    if (!parsed.success) {
      setError(parsed.error.issues[0]?.message ?? "invalid");
      return;
    }
    setError(null);
    create.mutate(input, { onSuccess: () => formElement.reset() });
  }
  return (
    <form className="panel form" onSubmit={submit} aria-label="Add a SIEM destination" noValidate>
      <div className="form-row">
        <label className="field">
          <span className="label">Name</span>
          <input name="name" required placeholder="splunk" aria-invalid={!!error} />
        </label>
        <label className="field">
          <span className="label">Kind</span>
          <select name="kind" defaultValue="syslog">
            <option value="syslog">syslog (RFC 5424, TCP)</option>
            <option value="webhook">webhook (NDJSON)</option>
          </select>
        </label>
        <label className="field grow">
          <span className="label">URL</span>
          <input name="url" required placeholder="tcp://siem.example.com:6514 or https://siem.example.com/ingest" />
          {error ? <span className="field-error">{error}</span> : null}
        </label>
        <div className="field field-button">
          <button type="submit" className="btn btn-primary" disabled={create.isPending}>
            {create.isPending ? "Adding…" : "Add destination"}
          </button>
        </div>
      </div>
    </form>
  );
}
