import { ROLES, type Role } from "@/server/domain/auth/permissions";

/** The role picker of the create-user and create-token forms (submitted as `role`). */
export function RoleField({ defaultValue = "viewer" }: { defaultValue?: Role }) {
  return (
    <label className="field">
      <span className="label">Role</span>
      <select name="role" defaultValue={defaultValue}>
        {ROLES.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
    </label>
  );
}
