/**
 * Internal addresses (server/net/address-class.ts) and the pinned resolution of a
 * registered host name (server/net/pinned-lookup.ts): a name resolving to any internal
 * address is refused, a literal address is connected to as registered, and a pinned name
 * is resolved once — a later, different DNS answer (rebinding) is never consulted.
 */
import { describe, expect, it } from "vitest";
import { isInternalAddress } from "../../server/net/address-class";
import { pinHost, pinnedLookup, type Resolver } from "../../server/net/pinned-lookup";

describe("isInternalAddress", () => {
  it.each([
    "127.0.0.1",
    "127.255.255.254",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fd00::1",
    "fc12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.0.0.1",
    "64:ff9b::7f00:1",
    "64:ff9b::10.0.0.1",
    "2002:7f00:1::1",
    "not an address",
    "",
  ])("%s is internal", (address) => {
    expect(isInternalAddress(address)).toBe(true);
  });

  it.each([
    "93.184.216.34",
    "1.1.1.1",
    "8.8.8.8",
    "172.32.0.1",
    "2606:4700::1111",
    "::ffff:93.184.216.34",
    "2002:5db8:d822::1",
  ])("%s is public", (address) => {
    expect(isInternalAddress(address)).toBe(false);
  });
});

describe("pinHost", () => {
  const answers = (...sequence: Array<Array<{ address: string; family: number }>>) => {
    let calls = 0;
    const resolve: Resolver = async () => sequence[Math.min(calls++, sequence.length - 1)]!;
    return { resolve, calls: () => calls };
  };

  it("a literal address is connected to as registered (no lookup)", async () => {
    const dns = answers([{ address: "93.184.216.34", family: 4 }]);
    expect(await pinHost("127.0.0.1", dns.resolve)).toEqual({ kind: "literal" });
    expect(await pinHost("[::1]", dns.resolve)).toEqual({ kind: "literal" });
    expect(dns.calls()).toBe(0);
  });

  it("a name with any internal answer is refused", async () => {
    const dns = answers([
      { address: "93.184.216.34", family: 4 },
      { address: "10.0.0.5", family: 4 },
    ]);
    expect(await pinHost("mixed.example", dns.resolve)).toEqual({ kind: "internal", address: "10.0.0.5" });
  });

  it("a public name is resolved once; the pinned lookup keeps answering that address after a rebinding", async () => {
    const dns = answers([{ address: "93.184.216.34", family: 4 }], [{ address: "127.0.0.1", family: 4 }]);
    const pinned = await pinHost("rebind.example", dns.resolve);
    expect(pinned).toMatchObject({ kind: "pinned", address: "93.184.216.34", family: 4 });
    if (pinned.kind !== "pinned") return;
    for (let i = 0; i < 5; i++) {
      const single = await new Promise((resolve) =>
        pinned.lookup("rebind.example", {}, (_err, address, family) => resolve([address, family])),
      );
      expect(single).toEqual(["93.184.216.34", 4]);
      const all = await new Promise((resolve) =>
        pinned.lookup("rebind.example", { all: true }, (_err, address) => resolve(address)),
      );
      expect(all).toEqual([{ address: "93.184.216.34", family: 4 }]);
    }
    expect(dns.calls()).toBe(1);
  });

  it("a failed resolution fails every connection with the same error, without resolving again", async () => {
    const error = Object.assign(new Error("getaddrinfo ENOTFOUND nowhere.invalid"), { code: "ENOTFOUND" });
    let calls = 0;
    const pinned = await pinHost("nowhere.invalid", async () => {
      calls += 1;
      throw error;
    });
    expect(pinned.kind).toBe("unresolved");
    if (pinned.kind !== "unresolved") return;
    const err = await new Promise((resolve) => pinned.lookup("nowhere.invalid", {}, (e) => resolve(e)));
    expect(err).toBe(error);
    expect(calls).toBe(1);
  });

  it("pinnedLookup answers asynchronously (node:http attaches its listeners first)", async () => {
    let answered = false;
    pinnedLookup("1.2.3.4", 4)("x", {}, () => {
      answered = true;
    });
    expect(answered).toBe(false);
    await new Promise((r) => setImmediate(r));
    expect(answered).toBe(true);
  });
});
