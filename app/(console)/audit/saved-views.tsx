"use client";
/**
 * Saved views: the signed-in user's named explorer states (the /audit query string), stored in
 * Postgres (`/api/v1/audit/views`). Opening one replaces the page's state with it; saving under
 * an existing name replaces that view.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, errorMessage } from "@/app/_client/api-client";
import { auditViewsQuery, keys, type SavedView } from "@/app/_client/queries";

export function SavedViews({ query, onOpen }: { query: string; onOpen: (query: string) => void }) {
  const client = useQueryClient();
  const views = useQuery(auditViewsQuery());
  const [name, setName] = useState("");
  const [selected, setSelected] = useState("");
  const save = useMutation({
    mutationFn: (input: { name: string; query: string }) =>
      api<SavedView>("/api/v1/audit/views", { method: "POST", body: input }),
    onSuccess: (view) => {
      setName("");
      setSelected(view.id);
      void client.invalidateQueries({ queryKey: keys.auditViews() });
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => api<null>(`/api/v1/audit/views/${id}`, { method: "DELETE" }),
    onSuccess: () => {
      setSelected("");
      void client.invalidateQueries({ queryKey: keys.auditViews() });
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    if (name.trim()) save.mutate({ name: name.trim(), query });
  }

  const list = views.data ?? [];
  return (
    <div className="explorer-views">
      <label className="field field-inline">
        <span className="label">Saved view</span>
        <select
          value={selected}
          disabled={views.isPending || list.length === 0}
          onChange={(e) => {
            setSelected(e.target.value);
            const view = list.find((v) => v.id === e.target.value);
            if (view) onOpen(view.query);
          }}
        >
          <option value="">{list.length === 0 ? "No saved views" : "Open a view…"}</option>
          {list.map((v) => (
            <option key={v.id} value={v.id}>
              {v.name}
            </option>
          ))}
        </select>
      </label>
      {selected ? (
        <button
          type="button"
          className="btn btn-ghost btn-sm"
          onClick={() => remove.mutate(selected)}
          disabled={remove.isPending}
        >
          Delete view
        </button>
      ) : null}
      <form className="explorer-views-save" onSubmit={submit} aria-label="Save this view">
        <label className="field field-inline">
          <span className="label">View name</span>
          <input
            type="text"
            value={name}
            maxLength={80}
            onChange={(e) => setName(e.target.value)}
            placeholder="e.g. refusals by IP"
          />
        </label>
        <button type="submit" className="btn btn-sm" disabled={!name.trim() || save.isPending}>
          Save view
        </button>
      </form>
      {save.isError ? (
        <span className="field-error" role="alert">
          Could not save: {errorMessage(save.error)}
        </span>
      ) : null}
      {remove.isError ? (
        <span className="field-error" role="alert">
          Could not delete: {errorMessage(remove.error)}
        </span>
      ) : null}
    </div>
  );
}
