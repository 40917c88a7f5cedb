/**
 * Which IP addresses are internal: loopback, private, link-local, unspecified, shared
 * (carrier-grade NAT), multicast and reserved ranges, in IPv4 and IPv6 (IPv4-mapped and
 * NAT64/6to4 forms judged by the IPv4 address they carry).
 *
 * The rule it serves (SPEC §5.2, §8): a destination an admin registered *by name* (tester
 * endpoints; webhook and SIEM destinations follow the same rule) may only be reached at a
 * public address, because the name's answer can change after registration (DNS
 * rebinding: a public answer at check time, 127.0.0.1 at connect time). Registering the
 * literal address is how an admin says "this internal address, on purpose".
 *
 * Pure (node:net only).
 */
import { BlockList, isIP } from "node:net";

const INTERNAL_V4: Array<[string, number]> = [
  ["0.0.0.0", 8], // "this network", unspecified
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // shared address space (carrier-grade NAT)
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local (cloud metadata endpoints live here)
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
];

const INTERNAL_V6: Array<[string, number]> = [
  ["::", 128], // unspecified
  ["::1", 128], // loopback
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated, still routed internally by some)
  ["ff00::", 8], // multicast
  ["2001:db8::", 32], // documentation
  ["100::", 64], // discard-only
];

const internal = new BlockList();
for (const [address, prefix] of INTERNAL_V4) internal.addSubnet(address, prefix, "ipv4");
for (const [address, prefix] of INTERNAL_V6) internal.addSubnet(address, prefix, "ipv6");

/** The IPv4 address an IPv6 address carries (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16), or null. */
function embeddedIpv4(address: string): string | null {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1]!;
  const groups = expandIpv6(lower);
  if (!groups) return null;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  // ::ffff:7f00:1 (mapped, hex form)
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return v4(groups[6]!, groups[7]!);
  // 64:ff9b::7f00:1 (NAT64 well-known prefix)
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0)) {
    return v4(groups[6]!, groups[7]!);
  }
  // 2002:AABB:CCDD::/48 (6to4)
  if (groups[0] === 0x2002) return v4(groups[1]!, groups[2]!);
  return null;
}

/** The eight 16-bit groups of an IPv6 address without an embedded dotted IPv4 part, or null. */
function expandIpv6(address: string): number[] | null {
  const zone = address.indexOf("%");
  const plain = zone === -1 ? address : address.slice(0, zone);
  if (plain.includes(".")) return null;
  const [head = "", tail, extra] = plain.split("::");
  if (extra !== undefined) return null;
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return null;
  const groups = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...right];
  return groups.map((g) => Number.parseInt(g, 16));
}

/**
 * True for an address that is not a public unicast address (see the module header), and
 * for anything that is not an IP address at all (fail closed).
 */
export function isInternalAddress(address: string): boolean {
  const type = isIP(address);
  if (type === 0) return true;
  if (type === 4) return internal.check(address, "ipv4");
  const v4 = embeddedIpv4(address);
  if (v4 !== null) return isInternalAddress(v4);
  return internal.check(address, "ipv6");
}
