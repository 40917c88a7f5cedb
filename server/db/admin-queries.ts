/**
 * The gateway's queries behind admin-stream tokens (server/admin/stream.ts):
 *
 * - `consumeAdminToken`: records a token's `jti` in `admin_token_use`; true only for the first
 *   use, whichever gateway of the fleet sees it (the primary key decides). Rows expire with
 *   their token plus a margin and are pruned by the same statement, so the table stays as
 *   small as the number of tokens minted in the last few minutes.
 * - `livePrincipals`: which of the given principals may still read the stream: an API token
 *   that exists, is not revoked, has not expired and (when scoped) whose tenant still exists; a user's session that exists, belongs to that user and
 *   has not expired (signing out deletes it; deleting the user cascades).
 */
import type pg from "pg";
import type { AdminPrincipalKind } from "../admin/admin-token";

const PRUNE_MARGIN_SECONDS = 300;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function consumeAdminToken(pool: pg.Pool, jti: string, expiresAtSeconds: number): Promise<boolean> {
  const { rows } = await pool.query<{ fresh: boolean }>(
    `with pruned as (
       delete from admin_token_use where expires_at < now() - make_interval(secs => $3)
     ), used as (
       insert into admin_token_use (jti, expires_at) values ($1, to_timestamp($2))
       on conflict (jti) do nothing returning 1
     )
     select exists (select 1 from used) as fresh`,
    [jti, expiresAtSeconds, PRUNE_MARGIN_SECONDS],
  );
  return rows[0]?.fresh === true;
}

export interface AdminPrincipal {
  kind: AdminPrincipalKind;
  sub: string;
  /** Session id, for kind "user". */
  sid?: string;
}

/** Stable key of a principal: what live checks and per-principal caps count by. */
export function principalKey(p: AdminPrincipal): string {
  return p.kind === "token" ? `token:${p.sub}` : `user:${p.sub}:${p.sid ?? ""}`;
}

/** The keys (principalKey) of those principals that are still valid now. */
export async function livePrincipals(pool: pg.Pool, principals: readonly AdminPrincipal[]): Promise<Set<string>> {
  const tokenIds = [...new Set(principals.filter((p) => p.kind === "token" && UUID.test(p.sub)).map((p) => p.sub))];
  const sessionIds = [...new Set(principals.filter((p) => p.kind === "user" && p.sid).map((p) => p.sid as string))];
  if (tokenIds.length === 0 && sessionIds.length === 0) return new Set();
  const { rows } = await pool.query<{ key: string }>(
    `select 'token:' || id::text as key from api_token
      where id = any($1::uuid[]) and revoked_at is null and expires_at > now()
        and (scope_tenant is null or scope_tenant_id is not null)
     union all
     select 'user:' || user_id || ':' || id as key from session where id = any($2::text[]) and expires_at > now()`,
    [tokenIds, sessionIds],
  );
  return new Set(rows.map((r) => r.key));
}
