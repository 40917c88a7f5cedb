/**
 * Registers an endpoint outside this gateway as a tester target of a tenant (admins only:
 * the tester will connect there on request, so registering is vouching for the address).
 * At most MAX_ENDPOINTS_PER_TENANT per tenant; the same URL twice is a 409.
 */
import "server-only";
import { type Db, inTransaction } from "@/server/db/prisma";
import { type Actor, recordActivity } from "@/server/domain/activity/record-activity";
import { AppError } from "@/server/domain/errors";
import { findTenant } from "@/server/domain/tenants/find-tenant";
import { redactUrlQuery } from "@/server/tester/endpoint-url";
import { type EndpointInput, MAX_ENDPOINTS_PER_TENANT } from "./endpoint-input";
import { type TesterEndpointView, toEndpointView } from "./list-endpoints";

export async function registerEndpoint(options: {
  db: Db;
  slug: string;
  input: EndpointInput;
  actor: Actor;
}): Promise<TesterEndpointView> {
  try {
    return await inTransaction(options.db, async (tx) => {
      const tenant = await findTenant({ db: tx, slug: options.slug });
      const count = await tx.testerEndpoint.count({ where: { tenantId: tenant.id } });
      if (count >= MAX_ENDPOINTS_PER_TENANT) {
        throw new AppError(
          "conflict",
          `A tenant can have at most ${MAX_ENDPOINTS_PER_TENANT} tester endpoints; remove one first`,
        );
      }
      const row = await tx.testerEndpoint.create({
        data: {
          tenantId: tenant.id,
          url: options.input.url,
          label: options.input.label,
          createdBy: options.actor.label,
        },
      });
      await recordActivity(tx, {
        actor: options.actor,
        action: "tester_endpoint.register",
        target: tenant.slug,
        summary: `Registered tester endpoint ${redactUrlQuery(row.url)}${row.label ? ` ("${row.label}")` : ""}`,
        details: { endpointId: row.id },
      });
      return toEndpointView(row);
    });
  } catch (error) {
    if ((error as { code?: unknown }).code === "P2002") {
      throw new AppError("conflict", `${options.input.url} is already registered for this tenant`, { cause: error });
    }
    throw error;
  }
}
