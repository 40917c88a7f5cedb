/** Removes a SIEM destination; gateways stop sending there within their reload interval. */
import "server-only";
import type { Db } from "../db";
import { findDestination } from "./update-siem-destination";

export async function deleteSiemDestination(options: { db: Db; id: string }): Promise<void> {
  const row = await findDestination(options.db, options.id);
  await options.db.siemDestination.delete({ where: { id: row.id } });
}
