/**
 * The client's address behind proxies (SPEC §5, `TRUST_PROXY`): one rule for the gateway's
 * handshakes, `/authz` and the dashboard's sign-in limits.
 *
 * `TRUST_PROXY` is
 *   - `false` (default): the socket's peer address, `X-Forwarded-For` ignored;
 *   - a number of trusted hops (`true` means 1): the peer and the `hops - 1` right-most
 *     `X-Forwarded-For` entries are our own proxies; the entry before them is the client;
 *   - a comma-separated list of trusted proxy addresses or CIDRs (`10.0.0.0/8, ::1`):
 *     walking from the peer leftwards through `X-Forwarded-For`, the first address that is
 *     not a trusted proxy is the client.
 * Never the left-most entry: that one is written by the client itself. When every address
 * is trusted, the left-most entry is the best we know. An entry that is not an IP address
 * (garbage, `unknown`) stops the walk: it cannot be trusted, so it is the client (it then
 * stands for "an address we cannot name", and rate limits key on it like any other).
 *
 * Pure (node:net only); `parseTrustProxy` is called once at start by the config loader.
 */
import { BlockList, isIP } from "node:net";

export type TrustProxy =
  | { kind: "none" }
  | { kind: "hops"; hops: number }
  | { kind: "cidrs"; list: BlockList; text: string };

export const TRUST_NONE: TrustProxy = Object.freeze({ kind: "none" });

/** Parses the `TRUST_PROXY` value; throws an Error with a readable message when invalid. */
export function parseTrustProxy(value: string | undefined): TrustProxy {
  const v = (value ?? "").trim();
  if (v === "" || /^(false|0|no)$/i.test(v)) return TRUST_NONE;
  if (/^(true|yes)$/i.test(v)) return { kind: "hops", hops: 1 };
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    if (hops < 1 || hops > 32) throw new Error(`TRUST_PROXY hop count must be from 1 to 32 (got "${v}")`);
    return { kind: "hops", hops };
  }
  const list = new BlockList();
  for (const raw of v.split(",")) {
    const entry = raw.trim();
    const [address = "", prefixText, extra] = entry.split("/");
    const type = isIP(address);
    if (type === 0 || extra !== undefined) {
      throw new Error(
        `TRUST_PROXY must be false, true, a hop count or a comma-separated list of IP addresses/CIDRs (bad entry "${entry}")`,
      );
    }
    const family = type === 4 ? "ipv4" : "ipv6";
    if (prefixText === undefined) {
      list.addAddress(address, family);
      continue;
    }
    const prefix = Number(prefixText);
    if (!/^\d+$/.test(prefixText) || prefix > (type === 4 ? 32 : 128)) {
      throw new Error(`TRUST_PROXY: bad prefix length in "${entry}"`);
    }
    list.addSubnet(address, prefix, family);
  }
  return { kind: "cidrs", list, text: v };
}

/** Strips the IPv4-mapped IPv6 prefix Node reports for IPv4 peers on dual-stack sockets. */
function plain(address: string): string {
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function isTrusted(list: BlockList, address: string): boolean {
  const type = isIP(address);
  if (type === 0) return false;
  return list.check(address, type === 4 ? "ipv4" : "ipv6");
}

/**
 * The client address for a request that arrived from `peer` (the socket's remote address)
 * with the given `X-Forwarded-For` header lines (in order; undefined when absent).
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: readonly string[] | string | undefined,
  trust: TrustProxy,
): string {
  const socketAddress = plain(peer ?? "unknown");
  if (trust.kind === "none" || forwardedFor === undefined) return socketAddress;
  const lines = typeof forwardedFor === "string" ? [forwardedFor] : forwardedFor;
  const chain: string[] = [];
  for (const line of lines) {
    for (const part of line.split(",")) {
      const entry = part.trim();
      // An address is at most 45 characters; anything longer is garbage and is clipped so
      // that it cannot grow a limiter key or an audit row.
      if (entry !== "") chain.push(plain(entry.slice(0, 64)));
    }
  }
  if (chain.length === 0) return socketAddress;
  if (trust.kind === "hops") {
    // The peer is hop 1; X-Forwarded-For's right-most entries are the further hops.
    const index = chain.length - trust.hops;
    return chain[Math.max(0, index)]!;
  }
  if (!isTrusted(trust.list, socketAddress)) return socketAddress;
  for (let i = chain.length - 1; i >= 0; i--) {
    const entry = chain[i]!;
    if (!isTrusted(trust.list, entry)) return entry;
  }
  return chain[0]!;
}
