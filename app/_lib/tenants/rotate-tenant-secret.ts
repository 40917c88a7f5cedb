/**
 * Replaces a tenant's token secret (HS256 key of its handshake JWTs) and returns the new
 * one — the only time it ever leaves the server.
 *
 * Overlap (SPEC §7): the replaced secret stays valid for `overlapSeconds` (default 300, at
 * most 86400; 0 = none), so clients can switch without being cut off; gateways verify
 * with either until then. When the overlap ends, gateways stop accepting it and close the
 * open connections admitted with it (1008 `policy_revoked`, SPEC §4.5). Rotating again
 * during an overlap replaces the previous secret: only the one current until now stays
 * valid. The new secret is sealed with SECRETS_KEY (when set); the replaced one is moved as
 * stored (both columns are sealed for the same tenant). The tenant trigger bumps the policy
 * generation, so every gateway reloads at commit.
 */
import "server-only";
import type { z } from "zod";
import { type Db, inTransaction } from "@/server/db/prisma";
import { newSecret } from "@/server/db/settings";
import { type Actor, recordActivity, SYSTEM_ACTOR } from "@/server/domain/activity/record-activity";
import { AppError } from "@/server/domain/errors";
import { findTenant } from "@/server/domain/tenants/find-tenant";
import { rotateSecretInput } from "@/server/domain/tenants/tenant-input";
import type { SecretBox } from "@/server/secrets/secret-box";
import { configuredSecretBox } from "@/server/secrets/secrets-key";
import { sealTokenSecret } from "@/server/secrets/tenant-token-secret";

export async function rotateTenantSecret(options: {
  db: Db;
  slug: string;
  input?: z.input<typeof rotateSecretInput>;
  now?: Date;
  /** Seals the new secret; default: SECRETS_KEY of the environment (none: plaintext). */
  secrets?: SecretBox | null;
  actor?: Actor;
}): Promise<{ tokenSecret: string; rotatedAt: string; previousSecretValidUntil: string | null }> {
  const { overlapSeconds } = rotateSecretInput.parse(options.input ?? {});
  const secrets = options.secrets === undefined ? configuredSecretBox() : options.secrets;
  const tokenSecret = newSecret();
  const rotatedAt = options.now ?? new Date();
  const until = overlapSeconds > 0 ? new Date(rotatedAt.getTime() + overlapSeconds * 1000) : null;
  await inTransaction(options.db, async (tx) => {
    const tenant = await findTenant({ db: tx, slug: options.slug });
    // Compare-and-set on the stored secret: two rotations at once cannot both keep "the" previous.
    const { count } = await tx.tenant.updateMany({
      where: { id: tenant.id, tokenSecret: tenant.tokenSecret },
      data: {
        tokenSecret: sealTokenSecret(secrets, tenant.id, tokenSecret),
        tokenSecretRotatedAt: rotatedAt,
        previousTokenSecret: until ? tenant.tokenSecret : null,
        previousTokenSecretUntil: until,
      },
    });
    if (count !== 1) throw new AppError("conflict", "The token secret was rotated at the same moment; try again");
    // Never the secret itself: only that it changed and how long the old one stays valid.
    await recordActivity(tx, {
      actor: options.actor ?? SYSTEM_ACTOR("internal"),
      action: "tenant.rotate_secret",
      target: tenant.slug,
      summary: until
        ? `Rotated the token secret; the previous one stays valid for ${overlapSeconds} s (until ${until.toISOString()})`
        : "Rotated the token secret with no overlap: the previous one stopped working at once",
      details: { overlapSeconds },
    });
  });
  return { tokenSecret, rotatedAt: rotatedAt.toISOString(), previousSecretValidUntil: until?.toISOString() ?? null };
}
