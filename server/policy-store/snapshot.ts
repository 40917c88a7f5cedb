/**
 * The gateway's last-known-good policies on disk (SPEC §5 "Last-known-good survives a
 * restart"): one file per gateway, the rows it enforces as JSON, sealed with SECRETS_KEY
 * (AES-256-GCM, server/secrets/secret-box.ts), so the file is both secret (it holds the
 * tenants' token secrets, themselves sealed) and authenticated: a file that fails
 * authentication — tampered, truncated, another key — is ignored, never half-used.
 *
 * Lifecycle: the policy store writes it after every change it loads from Postgres (coalesced,
 * atomically: temporary file + rename, mode 0600) and reads it once, at start, when Postgres
 * cannot be reached. Without a key there is no snapshot (the gateway warns once at start).
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { TenantPolicyRow } from "../db/policy-queries";
import { policyDocumentSchema } from "../policy/document";
import { type SecretBox, SecretBoxError, secretContext } from "../secrets/secret-box";

const FORMAT = 1;

export interface PolicySnapshot {
  gatewayId: string;
  /** When the policies in it were last confirmed current against Postgres. */
  writtenAt: Date;
  tenants: TenantPolicyRow[];
}

const isoDate = z.iso.datetime({ offset: true }).transform((v) => new Date(v));

// The file is authenticated (only a holder of the key wrote it); its rows are still read
// through the document's one definition, like rows from Postgres.
const rowSchema = z.object({
  tenantId: z.string().min(1),
  slug: z.string().min(1),
  upstreamUrl: z.string().nullable(),
  tokenSecret: z.string(),
  previousTokenSecret: z.string().nullable(),
  previousTokenSecretUntil: isoDate.nullable(),
  version: z.number().int(),
  generation: z.number().int(),
  updatedAt: isoDate,
  document: policyDocumentSchema,
  invalid: z.string().nullable().default(null),
  // A staged version (shadow/canary) survives a restart like the active one.
  staged: z
    .object({
      rolloutId: z.string().min(1),
      version: z.number().int(),
      stage: z.enum(["shadow", "canary"]),
      document: policyDocumentSchema,
      canaryLabels: z.array(z.string()),
      canaryPercent: z.number().int().nullable(),
      guardMaxNewRefusalsPerMinute: z.number().int().nullable(),
    })
    .nullable()
    .default(null),
});

const snapshotSchema = z.object({
  format: z.literal(FORMAT),
  gatewayId: z.string(),
  writtenAt: isoDate,
  tenants: z.array(rowSchema),
});

export class SnapshotError extends Error {
  override name = "SnapshotError";
}

export class PolicySnapshotFile {
  constructor(
    readonly file: string,
    private readonly secrets: SecretBox,
  ) {}

  /** The snapshot, or null when there is none; throws SnapshotError when it cannot be trusted. */
  async read(): Promise<PolicySnapshot | null> {
    let sealed: string;
    try {
      sealed = (await readFile(this.file, "utf8")).trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw new SnapshotError(`snapshot ${this.file} could not be read: ${(error as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(this.secrets.openBytes(sealed, secretContext.policySnapshot).toString("utf8"));
    } catch (error) {
      const why = error instanceof SecretBoxError ? error.message : "not valid JSON";
      throw new SnapshotError(`snapshot ${this.file} ignored: ${why}`, { cause: error });
    }
    const parsed = snapshotSchema.safeParse(json);
    if (!parsed.success) throw new SnapshotError(`snapshot ${this.file} ignored: unexpected content`);
    return { gatewayId: parsed.data.gatewayId, writtenAt: parsed.data.writtenAt, tenants: parsed.data.tenants };
  }

  async write(snapshot: PolicySnapshot): Promise<void> {
    const body = JSON.stringify({
      format: FORMAT,
      gatewayId: snapshot.gatewayId,
      writtenAt: snapshot.writtenAt.toISOString(),
      tenants: snapshot.tenants,
    });
    const sealed = this.secrets.seal(body, secretContext.policySnapshot);
    await mkdir(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    try {
      await writeFile(temporary, `${sealed}\n`, { mode: 0o600 });
      await rename(temporary, this.file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }
}
