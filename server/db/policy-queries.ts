/**
 * Reading policies with plain SQL — the gateway's hot reload path. The dashboard reads the
 * same rows through Prisma; both convert with `toPolicyDocument` so the document a gateway
 * enforces is exactly the one the API returns.
 */
import type pg from "pg";
import type { PolicyDocument } from "../policy/types";

export interface TenantPolicyRow {
  tenantId: string;
  slug: string;
  upstreamUrl: string | null;
  /** As stored: sealed with SECRETS_KEY (server/secrets/secret-box.ts), or legacy plaintext. */
  tokenSecret: string;
  /** The secret the last rotation replaced (sealed like tokenSecret) and the end of its overlap. */
  previousTokenSecret: string | null;
  previousTokenSecretUntil: Date | null;
  version: number;
  generation: number;
  updatedAt: Date;
  document: PolicyDocument;
}

/** Version stamp used to reconcile: any write to the policy bumps one of the two. */
export interface PolicyStamp {
  tenantId: string;
  version: number;
  generation: number;
}

const SELECT_POLICIES = `
  select t.id as tenant_id, t.slug, t.upstream_url, t.token_secret,
         t.previous_token_secret, t.previous_token_secret_until,
         p.version, p.generation, p.updated_at, p.mode, p.credentials, p.token, p.missing_origin,
         p.subprotocols, p.max_message_bytes, p.idle_timeout_seconds, p.max_connections,
         p.handshakes_per_minute_per_ip,
         coalesce((select json_agg(json_build_object('pattern', o.pattern, 'note', o.note, 'expiresAt', o.expires_at)
                                   order by o.created_at, o.pattern)
                     from allowed_origin o where o.tenant_id = t.id), '[]'::json) as origins
    from tenant t join policy p on p.tenant_id = t.id`;

interface RawRow {
  tenant_id: string;
  slug: string;
  upstream_url: string | null;
  token_secret: string;
  previous_token_secret: string | null;
  previous_token_secret_until: Date | null;
  version: number;
  generation: number;
  updated_at: Date;
  mode: string;
  credentials: string;
  token: string;
  missing_origin: string;
  subprotocols: string[];
  max_message_bytes: number;
  idle_timeout_seconds: number;
  max_connections: number;
  handshakes_per_minute_per_ip: number;
  origins: Array<{ pattern: string; note: string | null; expiresAt: string | null }>;
}

/** Database enum values to the document's (SPEC §10 spells report-only with a dash). */
export function modeFromDb(mode: string): PolicyDocument["mode"] {
  return mode === "report_only" ? "report-only" : "enforce";
}

export function modeToDb(mode: PolicyDocument["mode"]): "enforce" | "report_only" {
  return mode === "report-only" ? "report_only" : "enforce";
}

function toRow(r: RawRow): TenantPolicyRow {
  return {
    tenantId: r.tenant_id,
    slug: r.slug,
    upstreamUrl: r.upstream_url,
    tokenSecret: r.token_secret,
    previousTokenSecret: r.previous_token_secret,
    previousTokenSecretUntil: r.previous_token_secret_until,
    version: r.version,
    generation: r.generation,
    updatedAt: r.updated_at,
    document: {
      mode: modeFromDb(r.mode),
      origins: r.origins.map((o) => ({
        pattern: o.pattern,
        note: o.note,
        expiresAt: o.expiresAt ? new Date(o.expiresAt).toISOString() : null,
      })),
      credentials: r.credentials === "allow" ? "allow" : "forbid",
      token: r.token === "required" ? "required" : "off",
      missingOrigin: r.missing_origin === "allow" ? "allow" : "reject",
      subprotocols: r.subprotocols,
      limits: {
        maxMessageBytes: r.max_message_bytes,
        idleTimeoutSeconds: r.idle_timeout_seconds,
        maxConnections: r.max_connections,
        handshakesPerMinutePerIp: r.handshakes_per_minute_per_ip,
      },
    },
  };
}

export async function loadAllPolicies(db: pg.Pool | pg.Client): Promise<TenantPolicyRow[]> {
  const { rows } = await db.query<RawRow>(SELECT_POLICIES);
  return rows.map(toRow);
}

/** One tenant's policy, or null when the tenant (or its policy) no longer exists. */
export async function loadPolicy(db: pg.Pool | pg.Client, tenantId: string): Promise<TenantPolicyRow | null> {
  const { rows } = await db.query<RawRow>(`${SELECT_POLICIES} where t.id = $1`, [tenantId]);
  return rows[0] ? toRow(rows[0]) : null;
}

export async function loadPolicyStamps(db: pg.Pool | pg.Client): Promise<PolicyStamp[]> {
  const { rows } = await db.query<{ tenant_id: string; version: number; generation: number }>(
    "select tenant_id, version, generation from policy",
  );
  return rows.map((r) => ({ tenantId: r.tenant_id, version: r.version, generation: r.generation }));
}
