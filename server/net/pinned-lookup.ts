/**
 * Resolve a registered destination's host name once and connect only to that answer
 * (DNS-rebinding defense, SPEC §5.2 and §8).
 *
 * pinHost() resolves the name (all addresses), refuses it when any answer is internal
 * (address-class.ts) — a registered *name* must lead to public addresses; an admin who
 * means an internal address registers that literal address — and returns a `lookup`
 * function for node:http/net that always answers the pinned address. Every connection of
 * a run uses that function, so a second DNS answer (a rebinding to 127.0.0.1 after the
 * check) is never consulted. A host that is an IP literal needs no lookup: it is
 * connected to as registered.
 *
 * A failed resolution is kept as a lookup that fails with the same error, so the caller
 * reports it like any connection error (the tester's `dns_failed`) without resolving again.
 */
import dns from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import { isInternalAddress } from "./address-class";

export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export type PinnedHost =
  | { kind: "literal" }
  | { kind: "pinned"; address: string; family: 4 | 6; lookup: LookupFunction }
  | { kind: "internal"; address: string }
  | { kind: "unresolved"; lookup: LookupFunction; error: NodeJS.ErrnoException };

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), every address, in its order. */
export const systemResolver: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/** `hostname` as in a URL (IPv6 literals in brackets allowed). */
export async function pinHost(hostname: string, resolve: Resolver = systemResolver): Promise<PinnedHost> {
  const host = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  if (isIP(host) !== 0) return { kind: "literal" };
  let answers: Array<{ address: string; family: number }>;
  try {
    answers = await resolve(host);
    if (answers.length === 0) throw Object.assign(new Error(`no address for ${host}`), { code: "ENOTFOUND" });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException;
    return { kind: "unresolved", error: failure, lookup: failingLookup(failure) };
  }
  const internal = answers.find((answer) => isInternalAddress(answer.address));
  if (internal) return { kind: "internal", address: internal.address };
  const first = answers[0]!;
  const family = first.family === 6 ? 6 : 4;
  return { kind: "pinned", address: first.address, family, lookup: pinnedLookup(first.address, family) };
}

/**
 * A node:net lookup that answers `address` for any name, in the single or `all` form.
 * Asynchronously, like a real lookup: node:http attaches its socket listeners (the
 * `lookup` event the tester times) on a later tick.
 */
export function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return (_hostname, options, callback) => {
    setImmediate(() => {
      if (options?.all) callback(null, [{ address, family }]);
      else callback(null, address, family);
    });
  };
}

function failingLookup(error: NodeJS.ErrnoException): LookupFunction {
  return (_hostname, _options, callback) => {
    setImmediate(() => callback(error, "", 0));
  };
}
