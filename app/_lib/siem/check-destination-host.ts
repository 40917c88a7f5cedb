/**
 * The registration side of SPEC §5.2's rule for SIEM destinations: a host given as a name
 * must resolve to public addresses only (an internal address is allowed only when the admin
 * registers that literal address). A name that does not resolve now is accepted: the
 * gateway checks again at every connection (server/net/pinned-lookup.ts), which is what
 * protects against a later DNS answer.
 */
import "server-only";
import { validationError } from "@/server/domain/errors";
import { pinHost, type Resolver, systemResolver } from "@/server/net/pinned-lookup";

export async function checkDestinationHost(host: string, resolve: Resolver = systemResolver): Promise<void> {
  const pinned = await pinHost(host, resolve);
  if (pinned.kind === "internal") {
    throw validationError(
      `${host} resolves to an internal address (${pinned.address}); register the literal address (${pinned.address}) to send there on purpose`,
      [{ path: "url", message: `resolves to the internal address ${pinned.address}` }],
    );
  }
}
