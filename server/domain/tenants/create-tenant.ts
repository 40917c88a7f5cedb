/**
 * Creates a tenant with its policy (version 1) and revision 1 in one transaction. The
 * policy is the most restrictive default (server/policy defaultPolicyDocument: enforce, no
 * origins, credentials forbidden, missing Origin rejected) unless a document is given
 * (the first-run demo seed). The token secret is generated here, sealed with SECRETS_KEY
 * when the deployment has one (server/secrets/), and never returned.
 */
import "server-only";
import { randomUUID } from "node:crypto";
import type { z } from "zod";
import type { PrismaClient } from "../../db/prisma";
import { newSecret } from "../../db/settings";
import { defaultPolicyDocument } from "../../policy/document";
import type { SecretBox } from "../../secrets/secret-box";
import { configuredSecretBox } from "../../secrets/secrets-key";
import { sealTokenSecret } from "../../secrets/tenant-token-secret";
import { recordActivity } from "../activity/record-activity";
import { AppError } from "../errors";
import { policyColumns, toJsonValue } from "../policy/document";
import { type Actor, authorIdOf, checkPolicyDocument, readPolicy } from "../policy/save-policy";
import { createTenantInput } from "./tenant-input";

export async function createTenant(options: {
  db: PrismaClient;
  input: z.input<typeof createTenantInput>;
  actor: Actor;
  /** Initial policy (validated like any save); default: the restrictive default policy. */
  document?: unknown;
  comment?: string;
  now?: Date;
  /** Seals the token secret; default: SECRETS_KEY of the environment (none: plaintext). */
  secrets?: SecretBox | null;
}): Promise<{ slug: string; version: number }> {
  const input = createTenantInput.parse(options.input);
  const now = options.now ?? new Date();
  const { document } = checkPolicyDocument(options.document ?? defaultPolicyDocument(), now);
  const existing = await options.db.tenant.findUnique({ where: { slug: input.slug }, select: { id: true } });
  if (existing) throw new AppError("conflict", `A tenant with the slug "${input.slug}" already exists`);
  const secrets = options.secrets === undefined ? configuredSecretBox() : options.secrets;
  // The id is chosen here: the sealed secret is bound to it.
  const id = randomUUID();
  const tokenSecret = sealTokenSecret(secrets, id, newSecret());
  return options.db.$transaction(
    async (tx) => {
      const tenant = await tx.tenant.create({
        data: {
          id,
          slug: input.slug,
          name: input.name,
          upstreamUrl: input.upstreamUrl ?? null,
          tokenSecret,
          tokenSecretRotatedAt: now,
          createdAt: now,
        },
      });
      await tx.policy.create({
        data: {
          tenantId: tenant.id,
          version: 1,
          ...policyColumns(document),
          updatedAt: now,
          updatedBy: options.actor.label,
        },
      });
      if (document.origins.length > 0) {
        await tx.allowedOrigin.createMany({
          data: document.origins.map((o) => ({
            tenantId: tenant.id,
            pattern: o.pattern,
            note: o.note,
            expiresAt: o.expiresAt ? new Date(o.expiresAt) : null,
            createdAt: now,
            createdBy: options.actor.label,
          })),
        });
      }
      const saved = await readPolicy(tx, tenant.id);
      await tx.policyRevision.create({
        data: {
          tenantId: tenant.id,
          version: 1,
          document: toJsonValue(saved.document),
          authorId: authorIdOf(options.actor),
          author: options.actor.label,
          comment: options.comment ?? "Tenant created",
          createdAt: now,
        },
      });
      await recordActivity(tx, {
        actor: options.actor,
        action: "tenant.create",
        target: tenant.slug,
        summary: `Created tenant ${tenant.slug} ("${tenant.name}")${tenant.upstreamUrl ? ` with upstream ${tenant.upstreamUrl}` : ", echo (no upstream)"}`,
      });
      return { slug: tenant.slug, version: 1 };
    },
    { timeout: 60_000, maxWait: 10_000 },
  );
}
