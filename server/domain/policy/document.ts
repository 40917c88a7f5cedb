/**
 * The policy document as the API returns it and revisions store it (SPEC §10), built from
 * the policy row (its `settings` JSON) and its allowlist rows exactly as
 * server/db/policy-queries.ts builds it for the gateway: both go through
 * `joinPolicyDocument`, the one definition in server/policy/document.ts.
 */
import type { PrismaTypes } from "../../db/prisma";
import { joinPolicyDocument, type PolicyDocument, policySettings } from "../../policy/document";

export type VersionedPolicyDocument = PolicyDocument & { version: number };

type OriginRow = Pick<PrismaTypes.AllowedOrigin, "pattern" | "note" | "expiresAt">;

/** Prisma orderBy giving the gateway's order. */
export const ORIGIN_ORDER = [{ createdAt: "asc" as const }, { pattern: "asc" as const }];

export function toPolicyDocument(
  policy: Pick<PrismaTypes.Policy, "settings">,
  origins: readonly OriginRow[],
): PolicyDocument {
  return joinPolicyDocument(
    policy.settings,
    origins.map((o) => ({ pattern: o.pattern, note: o.note, expiresAt: o.expiresAt?.toISOString() ?? null })),
  );
}

/** The policy row's columns for a (validated, normalised) document. */
export function policyColumns(document: PolicyDocument): { settings: PrismaTypes.Prisma.InputJsonObject } {
  return { settings: toJsonValue(policySettings(document)) };
}

/** A document (or part of one) as a Prisma JSON value. */
export function toJsonValue(document: object): PrismaTypes.Prisma.InputJsonObject {
  // A plain JSON tree by construction (strings, numbers, arrays, nulls); interfaces just
  // lack the index signature Prisma's JSON type asks for.
  return JSON.parse(JSON.stringify(document)) as PrismaTypes.Prisma.InputJsonObject;
}
