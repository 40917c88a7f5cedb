/**
 * Principals and tokens for the gateway's admin stream in integration tests: real rows (an
 * API token, or a user with a session) so that the gateway's credential checks — single
 * use, live principal, per-principal cap — run against Postgres exactly as in production.
 */
import { randomBytes, randomUUID } from "node:crypto";
import WebSocket from "ws";
import { type AdminClaims, signAdminToken } from "../../server/admin/admin-token";
import { query } from "./fixtures";

export type StreamPrincipal =
  | { kind: "token"; sub: string; name: string }
  | { kind: "user"; sub: string; sid: string; name: string };

/** A fresh, valid API token row (role viewer); revoke with `revokeToken`. */
export async function apiTokenPrincipal(databaseUrl: string): Promise<StreamPrincipal> {
  const id = randomUUID();
  const name = `stream-${randomBytes(3).toString("hex")}`;
  await query(
    databaseUrl,
    "insert into api_token (id, name, role, prefix, token_hash, expires_at) values ($1, $2, 'viewer', 'og_test', $3, now() + interval '1 day')",
    [id, name, randomBytes(32).toString("hex")],
  );
  return { kind: "token", sub: id, name: `token:${name}` };
}

/** A fresh user with one live session; end it with `endSession`. */
export async function sessionPrincipal(databaseUrl: string): Promise<StreamPrincipal> {
  const userId = randomUUID();
  const sid = randomUUID();
  const email = `stream-${randomBytes(3).toString("hex")}@example.com`;
  await query(databaseUrl, `insert into "user" (id, name, email, role) values ($1, 'Stream', $2, 'viewer')`, [
    userId,
    email,
  ]);
  await query(
    databaseUrl,
    "insert into session (id, expires_at, token, updated_at, user_id) values ($1, now() + interval '1 hour', $2, now(), $3)",
    [sid, randomBytes(16).toString("hex"), userId],
  );
  return { kind: "user", sub: userId, sid, name: email };
}

/** A second live session of the same user. */
export async function anotherSession(databaseUrl: string, principal: StreamPrincipal): Promise<StreamPrincipal> {
  if (principal.kind !== "user") throw new Error("only users have sessions");
  const sid = randomUUID();
  await query(
    databaseUrl,
    "insert into session (id, expires_at, token, updated_at, user_id) values ($1, now() + interval '1 hour', $2, now(), $3)",
    [sid, randomBytes(16).toString("hex"), principal.sub],
  );
  return { ...principal, sid };
}

export async function revokeToken(databaseUrl: string, principal: StreamPrincipal): Promise<void> {
  await query(databaseUrl, "update api_token set revoked_at = now() where id = $1", [principal.sub]);
}

export async function endSession(databaseUrl: string, principal: StreamPrincipal): Promise<void> {
  if (principal.kind === "user") await query(databaseUrl, "delete from session where id = $1", [principal.sid]);
}

export function streamToken(key: string, principal: StreamPrincipal, claims: Partial<AdminClaims> = {}): string {
  return signAdminToken({ ...principal, role: "viewer", scope: "stream", ...claims }, key);
}

/** Opens `/admin/stream` with a token; resolves with the socket, or rejects with the refusal. */
export function connectStream(url: string, token: string, origin: string): Promise<WebSocket> {
  const ws = new WebSocket(url, ["og-admin.v1", `bearer.${token}`], { headers: { Origin: origin } });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) =>
      reject(
        Object.assign(new Error(`refused ${res.statusCode}`), {
          status: res.statusCode,
          reason: res.headers["x-origingate-reason"],
        }),
      ),
    );
    ws.once("error", reject);
  });
}
