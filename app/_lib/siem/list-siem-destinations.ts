/** The SIEM destinations (by name), without their secrets. */
import "server-only";
import type { Db } from "@/server/db/prisma";

export interface SiemDestinationView {
  id: string;
  name: string;
  kind: "syslog" | "webhook";
  url: string;
  enabled: boolean;
  /** A webhook's signing secret is set (it is never shown again after creation or rotation). */
  hasSecret: boolean;
  createdAt: string;
  createdBy: string | null;
  updatedAt: string;
}

export function toSiemDestinationView(row: {
  id: string;
  name: string;
  kind: "syslog" | "webhook";
  url: string;
  enabled: boolean;
  secret: string | null;
  createdAt: Date;
  createdBy: string | null;
  updatedAt: Date;
}): SiemDestinationView {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    url: row.url,
    enabled: row.enabled,
    hasSecret: row.secret !== null,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    updatedAt: row.updatedAt.toISOString(),
  };
}

export async function listSiemDestinations(options: { db: Db }): Promise<SiemDestinationView[]> {
  const rows = await options.db.siemDestination.findMany({ orderBy: { name: "asc" } });
  return rows.map(toSiemDestinationView);
}
