/**
 * One definition of the policy document (server/policy/document.ts): any valid document
 * survives every path it travels — the dashboard's save, the gateway's load, the API's read,
 * the stored revision, diffs and conflict re-apply — unchanged. The documents are generated
 * from the schema itself (tests/helpers/document-arbitrary.ts), so a field added to the
 * schema is carried through every path here without being listed, and a path that drops it
 * fails this test. Also: the migration that moved the policy columns into one JSON column
 * carries an existing policy over exactly.
 */
import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDiff } from "../../app/_lib/policy/apply-diff";
import { getPolicy } from "../../app/_lib/policy/get-policy";
import { getRevision } from "../../app/_lib/policy/get-revision";
import { createScratchDatabase, databaseName, dropDatabase } from "../../server/db/pg-server";
import { loadPolicy } from "../../server/db/policy-queries";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { applyMigrations } from "../../server/db/schema-engine";
import { diffDocuments, isEmptyDiff } from "../../server/domain/policy/diff-documents";
import { savePolicy } from "../../server/domain/policy/save-policy";
import { createTenant } from "../../server/domain/tenants/create-tenant";
import {
  defaultPolicyDocument,
  documentLeaves,
  leafValue,
  normalizePolicyDocument,
  type PolicyDocument,
  validatePolicy,
} from "../../server/policy";
import { validDocument } from "../helpers/document-arbitrary";
import { migrateThrough } from "../helpers/migrations";
import { createTestDatabase, testEnv } from "../helpers/test-db";

const actor = { id: null, label: "roundtrip@example.com" };
let db: PrismaClient;
let pool: pg.Pool;

beforeAll(async () => {
  const url = await createTestDatabase("doc_roundtrip");
  db = createPrisma(url);
  pool = new pg.Pool({ connectionString: url, max: 2 });
});

afterAll(async () => {
  await db.$disconnect();
  await pool.end();
});

function withoutVersion<T extends { version: number }>(value: T): Omit<T, "version"> {
  const { version: _version, ...rest } = value;
  return rest;
}

/**
 * The stored allowlist order is the order entries were first saved in (created_at, then
 * pattern), not the order of the last PUT body; everything else must match exactly.
 */
function byPattern(document: PolicyDocument): PolicyDocument {
  return { ...document, origins: [...document.origins].sort((a, b) => (a.pattern < b.pattern ? -1 : 1)) };
}

describe("the policy document round trip", () => {
  it("generated documents are valid and use every leaf of the schema", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(validDocument, (document) => {
        expect(validatePolicy(document).filter((i) => i.severity === "error")).toEqual([]);
        const normalized = normalizePolicyDocument(document);
        for (const { path, value } of documentLeaves(normalized)) {
          if (JSON.stringify(value) !== JSON.stringify(leafValue(defaultPolicyDocument(), path))) seen.add(path);
        }
      }),
      { numRuns: 200 },
    );
    // Every field of the document took a non-default value at least once.
    expect([...seen].sort()).toEqual(
      documentLeaves(defaultPolicyDocument())
        .map((l) => l.path)
        .sort(),
    );
  });

  it("save -> gateway load -> API -> revision -> diff -> re-apply leaves any valid document unchanged", async () => {
    const slug = `roundtrip-${Date.now().toString(36)}`;
    await createTenant({ db, input: { slug, name: "Round trip" }, actor });
    const { id: tenantId } = await db.tenant.findUniqueOrThrow({ where: { slug } });
    await fc.assert(
      fc.asyncProperty(validDocument, async (document) => {
        const before = await getPolicy({ db, slug });
        const expected: PolicyDocument = normalizePolicyDocument(document);
        const saved = await savePolicy({ db, slug, expectedVersion: before.version, document, actor });
        const stored = withoutVersion(saved.policy);
        expect(byPattern(stored)).toEqual(byPattern(expected));

        const gateway = await loadPolicy(pool, tenantId);
        expect(gateway?.invalid).toBeNull();
        expect(gateway?.document).toEqual(stored);

        const api = await getPolicy({ db, slug });
        // A document equal to the stored one writes no version (a save is idempotent); fast-check
        // generates such documents when it shrinks a failure.
        expect(api.version).toBe(before.version + (saved.changed ? 1 : 0));
        expect(withoutVersion(api)).toEqual(stored);

        const revision = await getRevision({ db, slug, version: api.version });
        expect(revision.document).toEqual(stored);

        // Nothing differs between the paths; and the diff from the previous version,
        // replayed on it, gives exactly the new document (every field included).
        const previous = withoutVersion(before);
        expect(isEmptyDiff(diffDocuments(expected, gateway!.document))).toBe(true);
        expect(byPattern(applyDiff(previous, diffDocuments(previous, stored)))).toEqual(byPattern(stored));
        if (saved.changed) expect(revision.diff).toEqual(diffDocuments(previous, stored));
      }),
      { numRuns: 30 },
    );
  });
});

describe("migration 20261202081607_policy_settings_document", () => {
  it("moves an existing policy's columns into settings, exactly", async () => {
    const { adminUrl, prefix } = testEnv();
    const url = await createScratchDatabase(adminUrl, `${prefix}_settings_mig`);
    const client = new pg.Client({ connectionString: url });
    try {
      await migrateThrough(url, "audit_history_time_order");
      await client.connect();
      const { rows } = await client.query<{ id: string }>(
        "insert into tenant (id, slug, name, token_secret) values (gen_random_uuid(), 'old', 'Old', 's') returning id",
      );
      await client.query(
        `insert into policy (tenant_id, version, mode, credentials, token, missing_origin, subprotocols,
                             max_message_bytes, idle_timeout_seconds, max_connections, handshakes_per_minute_per_ip)
         values ($1, 4, 'report_only', 'allow', 'required', 'allow', '{chat.v1,chat.v2}', 2048, 30, 77, 99)`,
        [rows[0]!.id],
      );
      await client.query(
        "insert into allowed_origin (id, tenant_id, pattern) values (gen_random_uuid(), $1, 'https://app.example.com')",
        [rows[0]!.id],
      );
      await applyMigrations(url);
      const loaded = await loadPolicy(client, rows[0]!.id);
      expect(loaded?.invalid).toBeNull();
      expect(loaded?.version).toBe(4);
      expect(loaded?.document).toEqual({
        ...defaultPolicyDocument(),
        mode: "report-only",
        credentials: "allow",
        token: "required",
        missingOrigin: "allow",
        subprotocols: ["chat.v1", "chat.v2"],
        origins: [{ pattern: "https://app.example.com", note: null, expiresAt: null }],
        limits: {
          ...defaultPolicyDocument().limits,
          maxMessageBytes: 2048,
          idleTimeoutSeconds: 30,
          maxConnections: 77,
          handshakesPerMinutePerIp: 99,
        },
      });
    } finally {
      await client.end().catch(() => {});
      await dropDatabase(adminUrl, databaseName(url));
    }
  });
});
