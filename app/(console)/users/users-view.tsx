"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, fieldErrors, validationIssues } from "@/app/_client/api-client";
import { absoluteTime, relativeTime } from "@/app/_client/format";
import { keys, type UserView, usersQuery } from "@/app/_client/queries";
import { useToast } from "@/app/_client/toast";
import { ConfirmDialog } from "@/app/_components/confirm-dialog";
import { InlineConfirm } from "@/app/_components/inline-confirm";
import { RoleField } from "@/app/_components/role-field";
import { Empty, QueryList } from "@/app/_components/status";
import { ROLE_DESCRIPTIONS, ROLES, type Role } from "@/server/domain/auth/permissions";
import { createUserInput, MIN_PASSWORD } from "@/server/domain/users/user-input";

export function UsersView({ selfId }: { selfId: string }) {
  const users = useQuery(usersQuery());
  const queryClient = useQueryClient();
  const toast = useToast();
  const [removing, setRemoving] = useState<string | null>(null);
  // A role change asked for in a select, waiting for the confirmation dialog.
  const [roleChange, setRoleChange] = useState<{ user: UserView; role: Role } | null>(null);

  const changeRole = useMutation({
    mutationFn: (vars: { id: string; role: Role }) =>
      api(`/api/v1/users/${encodeURIComponent(vars.id)}`, { method: "PATCH", body: { role: vars.role } }),
    // Optimistic: the select shows the new role at once; rolled back if refused.
    onMutate: async (vars) => {
      await queryClient.cancelQueries({ queryKey: keys.users(), exact: true });
      const previous = queryClient.getQueryData<UserView[]>(keys.users());
      queryClient.setQueryData<UserView[]>(keys.users(), (list) =>
        list?.map((u) => (u.id === vars.id ? { ...u, role: vars.role } : u)),
      );
      return { previous };
    },
    onError: (error, _vars, context) => {
      if (context?.previous) queryClient.setQueryData(keys.users(), context.previous);
      toast.error(error.message);
    },
    onSuccess: (_data, vars) => toast.success(`Role changed to ${vars.role} (effective on their next request)`),
    onSettled: () => queryClient.invalidateQueries({ queryKey: keys.users(), exact: true }),
  });

  const remove = useMutation({
    mutationFn: (id: string) => api(`/api/v1/users/${encodeURIComponent(id)}`, { method: "DELETE" }),
    onSuccess: async () => {
      setRemoving(null);
      toast.success("User removed; their sessions ended and their API tokens were revoked");
      await queryClient.invalidateQueries({ queryKey: keys.users(), exact: true });
    },
    onError: (error) => toast.error(error.message),
  });

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Users</h1>
          <p className="muted">
            People who sign in to the dashboard. Roles are checked on the server for every request.
          </p>
        </div>
      </div>
      <CreateUserForm />
      <ul className="legend small">
        {ROLES.map((r) => (
          <li key={r}>
            <span className={`badge role-${r}`}>{r}</span> {ROLE_DESCRIPTIONS[r]}
          </li>
        ))}
      </ul>
      <QueryList query={users} empty={<Empty title="No users" />}>
        {(items) => (
          <div className="table-wrap">
            <table className="table" aria-label="Users">
              <thead>
                <tr>
                  <th>User</th>
                  <th>Role</th>
                  <th>Created</th>
                  <th aria-label="Actions" />
                </tr>
              </thead>
              <tbody>
                {items.map((u) => (
                  <tr key={u.id}>
                    <td>
                      <div className="strong">{u.email}</div>
                      <div className="small muted">
                        {u.name}
                        {u.id === selfId ? " (you)" : ""}
                      </div>
                    </td>
                    <td>
                      <select
                        aria-label={`Role of ${u.email}`}
                        value={u.role}
                        disabled={changeRole.isPending}
                        onChange={(e) => {
                          const role = ROLES.find((r) => r === e.target.value);
                          if (role && role !== u.role) setRoleChange({ user: u, role });
                        }}
                      >
                        {ROLES.map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                    </td>
                    <td title={absoluteTime(u.createdAt)}>{relativeTime(u.createdAt)}</td>
                    <td>
                      {u.id === selfId ? null : (
                        <InlineConfirm
                          confirming={removing === u.id}
                          onStart={() => setRemoving(u.id)}
                          onCancel={() => setRemoving(null)}
                          onConfirm={() => remove.mutate(u.id)}
                          pending={remove.isPending}
                          label="Remove…"
                          ariaLabel={`Remove ${u.email}`}
                          confirmLabel="Confirm removal"
                        />
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryList>
      <ConfirmDialog
        open={roleChange !== null}
        title="Change this user's role?"
        confirmLabel={roleChange ? `Make ${roleChange.role}` : "Change role"}
        danger={roleChange?.role === "admin" || roleChange?.user.id === selfId}
        onCancel={() => setRoleChange(null)}
        onConfirm={() => {
          if (roleChange) changeRole.mutate({ id: roleChange.user.id, role: roleChange.role });
          setRoleChange(null);
        }}
      >
        {roleChange ? (
          <>
            <p>
              <strong>{roleChange.user.email}</strong>
              {roleChange.user.id === selfId ? " (you)" : ""} changes from{" "}
              <span className={`badge role-${roleChange.user.role}`}>{roleChange.user.role}</span> to{" "}
              <span className={`badge role-${roleChange.role}`}>{roleChange.role}</span>, from their next request on.
            </p>
            <p className="small">
              {roleChange.role}: {ROLE_DESCRIPTIONS[roleChange.role]}
            </p>
            {roleChange.user.id === selfId ? (
              <p className="callout callout-warn">This is your own account: you may lose access to this page.</p>
            ) : null}
          </>
        ) : null}
      </ConfirmDialog>
    </div>
  );
}

function CreateUserForm() {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const create = useMutation({
    mutationFn: (input: { email: string; name: string; password: string; role: Role }) =>
      api<UserView>("/api/v1/users", { method: "POST", body: input }),
    onSuccess: async (user, _vars) => {
      toast.success(`Created ${user.email} (${user.role})`);
      await queryClient.invalidateQueries({ queryKey: keys.users(), exact: true });
    },
    onError: (error) => {
      if (validationIssues(error).length > 0) setErrors(fieldErrors(error));
      toast.error(error.message);
    },
  });
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const input = {
      email: String(form.get("email") ?? ""),
      name: String(form.get("name") ?? ""),
      password: String(form.get("password") ?? ""),
      role: String(form.get("role") ?? "viewer") as Role,
    };
    const parsed = createUserInput.safeParse(input);
    if (!parsed.success) {
      setErrors(Object.fromEntries(parsed.error.issues.map((i) => [String(i.path[0] ?? ""), i.message])));
      return;
    }
    setErrors({});
    create.mutate(input, { onSuccess: () => formElement.reset() });
  }
  return (
    <form className="panel form" onSubmit={submit} aria-label="Add a user" noValidate>
      <h3 className="h4">Add a user</h3>
      <div className="form-row">
        <label className="field grow">
          <span className="label">E-mail</span>
          <input name="email" type="email" autoComplete="off" required aria-invalid={!!errors.email} />
          {errors.email ? <span className="field-error">{errors.email}</span> : null}
        </label>
        <label className="field">
          <span className="label">Name</span>
          <input name="name" autoComplete="off" />
        </label>
        <label className="field">
          <span className="label">Initial password ({MIN_PASSWORD}+ characters)</span>
          <input
            name="password"
            type="password"
            autoComplete="new-password"
            required
            aria-invalid={!!errors.password}
          />
          {errors.password ? <span className="field-error">{errors.password}</span> : null}
        </label>
        <RoleField />
        <div className="field field-button">
          <button type="submit" className="btn btn-primary" disabled={create.isPending}>
            {create.isPending ? "Adding…" : "Add user"}
          </button>
        </div>
      </div>
    </form>
  );
}
