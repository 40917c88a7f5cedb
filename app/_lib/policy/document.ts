/**
 * The policy document as the API returns it and revisions store it (SPEC §10): built from
 * the policy row and its allowlist rows exactly as server/db/policy-queries.ts builds it for
 * the gateway (origins ordered by created_at then pattern; note and expiresAt always
 * present, null when unset; expiresAt in toISOString form).
 */
import { z } from "zod";
import { modeFromDb, modeToDb } from "../../../server/db/policy-queries";
import type { PrismaTypes } from "../../../server/db/prisma";
import type { PolicyDocument } from "../../../server/policy/types";

export interface StoredOriginEntry {
  pattern: string;
  note: string | null;
  expiresAt: string | null;
}

export type StoredPolicyDocument = Omit<PolicyDocument, "origins"> & { origins: StoredOriginEntry[] };
export type VersionedPolicyDocument = StoredPolicyDocument & { version: number };

type PolicyRow = PrismaTypes.Policy;
type OriginRow = Pick<PrismaTypes.AllowedOrigin, "pattern" | "note" | "expiresAt">;

/** Prisma orderBy giving the gateway's order. */
export const ORIGIN_ORDER = [{ createdAt: "asc" as const }, { pattern: "asc" as const }];

export function toPolicyDocument(policy: PolicyRow, origins: readonly OriginRow[]): StoredPolicyDocument {
  return {
    mode: modeFromDb(policy.mode),
    origins: origins.map((o) => ({ pattern: o.pattern, note: o.note, expiresAt: o.expiresAt?.toISOString() ?? null })),
    credentials: policy.credentials,
    token: policy.token,
    missingOrigin: policy.missingOrigin,
    subprotocols: [...policy.subprotocols],
    limits: {
      maxMessageBytes: policy.maxMessageBytes,
      idleTimeoutSeconds: policy.idleTimeoutSeconds,
      maxConnections: policy.maxConnections,
      handshakesPerMinutePerIp: policy.handshakesPerMinutePerIp,
    },
  };
}

/** Policy-row columns for a (validated, normalised) document. */
export function policyColumns(document: StoredPolicyDocument) {
  return {
    mode: modeToDb(document.mode),
    credentials: document.credentials,
    token: document.token,
    missingOrigin: document.missingOrigin,
    subprotocols: document.subprotocols,
    maxMessageBytes: document.limits.maxMessageBytes,
    idleTimeoutSeconds: document.limits.idleTimeoutSeconds,
    maxConnections: document.limits.maxConnections,
    handshakesPerMinutePerIp: document.limits.handshakesPerMinutePerIp,
  };
}

/** A normalised engine document in stored form (note/expiresAt null when absent, "" note = none). */
export function toStoredDocument(document: PolicyDocument): StoredPolicyDocument {
  return {
    ...document,
    origins: document.origins.map((o) => ({
      pattern: o.pattern,
      note: typeof o.note === "string" && o.note.trim() !== "" ? o.note : null,
      expiresAt: o.expiresAt ?? null,
    })),
  };
}

/** Boundary check for documents read back from policy_revision.document (JSON column). */
export const storedDocumentSchema = z.object({
  mode: z.enum(["enforce", "report-only"]),
  origins: z.array(
    z.object({
      pattern: z.string(),
      note: z
        .string()
        .nullish()
        .transform((v) => v ?? null),
      expiresAt: z
        .string()
        .nullish()
        .transform((v) => v ?? null),
    }),
  ),
  credentials: z.enum(["forbid", "allow"]),
  token: z.enum(["off", "required"]),
  missingOrigin: z.enum(["reject", "allow"]),
  subprotocols: z.array(z.string()),
  limits: z.object({
    maxMessageBytes: z.number().int(),
    idleTimeoutSeconds: z.number().int(),
    maxConnections: z.number().int(),
    handshakesPerMinutePerIp: z.number().int(),
  }),
}) satisfies z.ZodType<StoredPolicyDocument, unknown>;

export function parseStoredDocument(json: unknown): StoredPolicyDocument {
  return storedDocumentSchema.parse(json);
}

/** The document as a Prisma JSON value (for policy_revision.document). */
export function toJsonValue(document: StoredPolicyDocument): PrismaTypes.Prisma.InputJsonObject {
  // A plain JSON tree by construction (strings, numbers, arrays, nulls); interfaces just
  // lack the index signature Prisma's JSON type asks for.
  return JSON.parse(JSON.stringify(document)) as PrismaTypes.Prisma.InputJsonObject;
}
