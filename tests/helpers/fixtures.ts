/**
 * Test fixtures written with plain SQL: tenants with a policy, revision and allowlist, and
 * policy updates that bump the version with a revision in one transaction (what every real
 * writer does). Each call uses a unique slug unless one is given, so tests never collide.
 */
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { defaultPolicyDocument, type PolicyDocument, parsePolicyDocument, policySettings } from "../../server/policy";
import { configuredSecretBox } from "../../server/secrets/secrets-key";
import { openTokenSecret, sealTokenSecret } from "../../server/secrets/tenant-token-secret";

export interface TenantFixture {
  id: string;
  slug: string;
  tokenSecret: string;
}

export type PolicyChanges = Partial<Omit<PolicyDocument, "origins" | "limits">> & {
  origins?: Array<string | { pattern: string; expiresAt?: string | null; note?: string | null }>;
  limits?: Partial<PolicyDocument["limits"]>;
};

export function uniqueSlug(prefix = "t"): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** The full document for some changes (the schema fills in notes, expiries and defaults). */
function documentFrom(changes: PolicyChanges, base = defaultPolicyDocument()): PolicyDocument {
  return parsePolicyDocument({
    ...base,
    ...changes,
    origins: (changes.origins ?? base.origins).map((o) => (typeof o === "string" ? { pattern: o } : o)),
    limits: { ...base.limits, ...changes.limits },
  });
}

async function writePolicy(db: pg.Client, tenantId: string, doc: PolicyDocument, version: number): Promise<void> {
  await db.query(
    "update policy set version = $2, settings = $3, updated_at = now(), updated_by = 'test' where tenant_id = $1",
    [tenantId, version, JSON.stringify(policySettings(doc))],
  );
  await db.query("delete from allowed_origin where tenant_id = $1", [tenantId]);
  for (const o of doc.origins) {
    await db.query(
      "insert into allowed_origin (id, tenant_id, pattern, note, expires_at) values (gen_random_uuid(), $1, $2, $3, $4)",
      [tenantId, o.pattern, o.note, o.expiresAt],
    );
  }
  await db.query(
    "insert into policy_revision (id, tenant_id, version, document, author) values (gen_random_uuid(), $1, $2, $3, 'test')",
    [tenantId, version, JSON.stringify(doc)],
  );
}

async function withClient<T>(url: string, fn: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

export async function createTenant(
  url: string,
  options: { slug?: string; upstreamUrl?: string | null; policy?: PolicyChanges } = {},
): Promise<TenantFixture> {
  const slug = options.slug ?? uniqueSlug();
  const tokenSecret = randomBytes(32).toString("base64url");
  return withClient(url, async (db) => {
    await db.query("begin");
    // Stored as the dashboard stores it: sealed with the run's SECRETS_KEY.
    const id = randomUUID();
    await db.query("insert into tenant (id, slug, name, upstream_url, token_secret) values ($1, $2, $2, $3, $4)", [
      id,
      slug,
      options.upstreamUrl ?? null,
      sealTokenSecret(configuredSecretBox(), id, tokenSecret),
    ]);
    await db.query("insert into policy (tenant_id, version) values ($1, 1)", [id]);
    await writePolicy(db, id, documentFrom(options.policy ?? {}), 1);
    await db.query("commit");
    return { id, slug, tokenSecret };
  });
}

/** Replaces the tenant's policy (fields not given keep their defaults), version + 1. */
export async function updatePolicy(url: string, tenantId: string, changes: PolicyChanges): Promise<number> {
  return withClient(url, async (db) => {
    await db.query("begin");
    const { rows } = await db.query<{ version: number }>("select version from policy where tenant_id = $1 for update", [
      tenantId,
    ]);
    const version = rows[0]!.version + 1;
    await writePolicy(db, tenantId, documentFrom(changes), version);
    await db.query("commit");
    return version;
  });
}

export async function query<R extends object>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  return withClient(url, async (db) => (await db.query<R>(text, values)).rows);
}

/** The tenant's current token secret in the clear (read from Postgres, opened with SECRETS_KEY). */
export async function tenantTokenSecret(url: string, slug: string): Promise<string> {
  const [row] = await query<{ id: string; token_secret: string }>(
    url,
    "select id, token_secret from tenant where slug = $1",
    [slug],
  );
  if (!row) throw new Error(`no tenant ${slug}`);
  return openTokenSecret(configuredSecretBox(), row.id, row.token_secret);
}
