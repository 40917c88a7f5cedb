/** Removes a SIEM destination (`siem.delete` in the activity log); gateways stop sending there within their reload interval. */
import "server-only";
import { type Db, inTransaction } from "@/server/db/prisma";
import { type Actor, recordActivity, SYSTEM_ACTOR } from "@/server/domain/activity/record-activity";
import { findDestination } from "./update-siem-destination";

export async function deleteSiemDestination(options: { db: Db; id: string; actor?: Actor }): Promise<void> {
  const row = await findDestination(options.db, options.id);
  await inTransaction(options.db, async (tx) => {
    await tx.siemDestination.delete({ where: { id: row.id } });
    await recordActivity(tx, {
      actor: options.actor ?? SYSTEM_ACTOR("internal"),
      action: "siem.delete",
      target: row.name,
      summary: `Removed SIEM destination "${row.name}" (${row.kind}, ${row.url})`,
      details: { destinationId: row.id },
    });
  });
}
