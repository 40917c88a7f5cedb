/**
 * Changes a SIEM destination: rename, a new URL (same kind; checked like a new one), enable
 * or disable, or a new signing secret for a webhook (returned once). Gateways apply it within
 * their reload interval: a changed destination starts over with a fresh buffer. Recorded in
 * the activity log (`siem.update`, saying what changed; never the secret).
 */
import "server-only";
import { type Db, inTransaction } from "@/server/db/prisma";
import { type Actor, recordActivity, SYSTEM_ACTOR } from "@/server/domain/activity/record-activity";
import { AppError, notFound, validationError } from "@/server/domain/errors";
import { newWebhookSecret } from "@/server/net/webhook-signature";
import type { SecretBox } from "@/server/secrets/secret-box";
import { configuredSecretBox } from "@/server/secrets/secrets-key";
import { sealDestinationSecret } from "@/server/siem/destination-secret";
import { normalizeSiemUrl } from "@/server/siem/destination-url";
import { checkDestinationHost } from "./check-destination-host";
import { type SiemDestinationView, toSiemDestinationView } from "./list-siem-destinations";
import type { SiemDestinationPatch } from "./siem-destination-input";

export async function updateSiemDestination(options: {
  db: Db;
  id: string;
  patch: SiemDestinationPatch;
  actor?: Actor;
  secrets?: SecretBox | null;
  resolve?: Parameters<typeof checkDestinationHost>[1];
}): Promise<{ destination: SiemDestinationView; secret: string | null }> {
  const current = await findDestination(options.db, options.id);
  const { patch } = options;
  let url: string | undefined;
  if (patch.url !== undefined) {
    const result = normalizeSiemUrl(current.kind, patch.url);
    if (!result.ok) throw validationError("The URL is invalid", [{ path: "url", message: result.message }]);
    await checkDestinationHost(result.host, options.resolve);
    url = result.url;
  }
  let secret: string | null = null;
  if (patch.rotateSecret) {
    if (current.kind !== "webhook") {
      throw validationError("Only webhook destinations have a signing secret", [
        { path: "rotateSecret", message: "only webhooks have a secret" },
      ]);
    }
    secret = newWebhookSecret();
  }
  const secrets = options.secrets === undefined ? configuredSecretBox() : options.secrets;
  const changes = [
    patch.name !== undefined && patch.name !== current.name ? `renamed to "${patch.name}"` : null,
    url !== undefined && url !== current.url ? `URL ${url}` : null,
    patch.enabled !== undefined && patch.enabled !== current.enabled ? (patch.enabled ? "enabled" : "disabled") : null,
    secret !== null ? "new signing secret" : null,
  ].filter((c): c is string => c !== null);
  try {
    const row = await inTransaction(options.db, async (tx) => {
      const updated = await tx.siemDestination.update({
        where: { id: current.id },
        data: {
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(url !== undefined ? { url } : {}),
          ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
          ...(secret !== null ? { secret: sealDestinationSecret(secrets, current.id, secret) } : {}),
        },
      });
      await recordActivity(tx, {
        actor: options.actor ?? SYSTEM_ACTOR("internal"),
        action: "siem.update",
        target: updated.name,
        summary: `Changed SIEM destination "${current.name}": ${changes.length > 0 ? changes.join(", ") : "nothing"}`,
        details: { destinationId: current.id },
      });
      return updated;
    });
    return { destination: toSiemDestinationView(row), secret };
  } catch (error) {
    if ((error as { code?: unknown }).code === "P2002") {
      throw new AppError("conflict", `A SIEM destination named "${patch.name}" already exists`, { cause: error });
    }
    throw error;
  }
}

/** The destination with this id (a malformed id is a 404 too: there is no such destination). */
export async function findDestination(db: Db, id: string) {
  const row = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)
    ? await db.siemDestination.findUnique({ where: { id } })
    : null;
  if (!row) throw notFound("SIEM destination");
  return row;
}
