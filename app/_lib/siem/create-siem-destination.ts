/**
 * Registers a SIEM destination (admins only: every gateway will send the audit trail there,
 * so registering is vouching for the address). The host must pass SPEC §5.2's rule
 * (check-destination-host.ts). A webhook gets a new signing secret, sealed at rest with
 * SECRETS_KEY when there is one, and returned here once. At most MAX_SIEM_DESTINATIONS; a
 * name used twice is a 409. Gateways pick it up within their reload interval (5 s). Recorded
 * in the activity log (`siem.create`, never the secret) in the same transaction.
 */
import "server-only";
import { randomUUID } from "node:crypto";
import { type Db, inTransaction } from "@/server/db/prisma";
import { type Actor, recordActivity } from "@/server/domain/activity/record-activity";
import { AppError } from "@/server/domain/errors";
import { newWebhookSecret } from "@/server/net/webhook-signature";
import type { SecretBox } from "@/server/secrets/secret-box";
import { configuredSecretBox } from "@/server/secrets/secrets-key";
import { sealDestinationSecret } from "@/server/siem/destination-secret";
import { normalizeSiemUrl } from "@/server/siem/destination-url";
import { checkDestinationHost } from "./check-destination-host";
import { type SiemDestinationView, toSiemDestinationView } from "./list-siem-destinations";
import { MAX_SIEM_DESTINATIONS, type SiemDestinationInput } from "./siem-destination-input";

export async function createSiemDestination(options: {
  db: Db;
  input: SiemDestinationInput;
  actor: Actor;
  secrets?: SecretBox | null;
  /** DNS (tests); the system resolver by default. */
  resolve?: Parameters<typeof checkDestinationHost>[1];
}): Promise<{ destination: SiemDestinationView; secret: string | null }> {
  const { input } = options;
  const host = normalizeSiemUrl(input.kind, input.url);
  if (!host.ok) throw new AppError("validation_failed", host.message);
  await checkDestinationHost(host.host, options.resolve);
  if ((await options.db.siemDestination.count()) >= MAX_SIEM_DESTINATIONS) {
    throw new AppError("conflict", `At most ${MAX_SIEM_DESTINATIONS} SIEM destinations; remove one first`);
  }
  const id = randomUUID();
  const secret = input.kind === "webhook" ? newWebhookSecret() : null;
  const secrets = options.secrets === undefined ? configuredSecretBox() : options.secrets;
  try {
    const row = await inTransaction(options.db, async (tx) => {
      const created = await tx.siemDestination.create({
        data: {
          id,
          name: input.name,
          kind: input.kind,
          url: input.url,
          enabled: input.enabled,
          secret: secret === null ? null : sealDestinationSecret(secrets, id, secret),
          createdBy: options.actor.label,
        },
      });
      await recordActivity(tx, {
        actor: options.actor,
        action: "siem.create",
        target: input.name,
        summary: `Added SIEM destination "${input.name}" (${input.kind}, ${input.url}${input.enabled ? "" : ", disabled"})`,
        details: { destinationId: id },
      });
      return created;
    });
    return { destination: toSiemDestinationView(row), secret };
  } catch (error) {
    if ((error as { code?: unknown }).code === "P2002") {
      throw new AppError("conflict", `A SIEM destination named "${input.name}" already exists`, { cause: error });
    }
    throw error;
  }
}
