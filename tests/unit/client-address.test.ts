import { describe, expect, it } from "vitest";
import { clientAddress, parseTrustProxy, TRUST_NONE } from "../../server/net/client-address";

describe("parseTrustProxy", () => {
  it.each([
    [undefined, "none"],
    ["", "none"],
    ["false", "none"],
    ["0", "none"],
    ["true", "hops"],
    ["2", "hops"],
    ["10.0.0.0/8, ::1", "cidrs"],
    ["127.0.0.1", "cidrs"],
  ])("%s -> %s", (value, kind) => {
    expect(parseTrustProxy(value).kind).toBe(kind);
  });

  it.each(["yes please", "10.0.0.0/33", "::1/129", "10.0.0.0/8/1", "999", "localhost", "10.0.0.0/x"])(
    "refuses %s with a message",
    (value) => {
      expect(() => parseTrustProxy(value)).toThrow(/TRUST_PROXY/);
    },
  );
});

describe("clientAddress", () => {
  it("ignores X-Forwarded-For unless proxies are trusted", () => {
    expect(clientAddress("203.0.113.9", "1.2.3.4", TRUST_NONE)).toBe("203.0.113.9");
    expect(clientAddress("::ffff:203.0.113.9", undefined, TRUST_NONE)).toBe("203.0.113.9");
  });

  it("with one trusted hop takes the right-most entry, never the left-most the client wrote", () => {
    const trust = parseTrustProxy("true");
    // The client sent "X-Forwarded-For: 6.6.6.6"; the proxy appended the address it saw.
    expect(clientAddress("10.0.0.2", "6.6.6.6, 198.51.100.7", trust)).toBe("198.51.100.7");
    expect(clientAddress("10.0.0.2", ["6.6.6.6", "198.51.100.7"], trust)).toBe("198.51.100.7");
    expect(clientAddress("10.0.0.2", undefined, trust)).toBe("10.0.0.2");
  });

  it("with two hops skips the inner proxy too", () => {
    const trust = parseTrustProxy("2");
    expect(clientAddress("10.0.0.3", "6.6.6.6, 198.51.100.7, 10.0.0.2", trust)).toBe("198.51.100.7");
    expect(clientAddress("10.0.0.3", "198.51.100.7", trust)).toBe("198.51.100.7");
  });

  it("with CIDRs walks right to left to the first untrusted address", () => {
    const trust = parseTrustProxy("10.0.0.0/8,::1");
    expect(clientAddress("::1", "6.6.6.6, 198.51.100.7, 10.1.2.3", trust)).toBe("198.51.100.7");
    // A peer that is not a trusted proxy is the client, whatever it claims.
    expect(clientAddress("203.0.113.5", "198.51.100.7", trust)).toBe("203.0.113.5");
    // Everything trusted: the left-most entry is the best we know.
    expect(clientAddress("10.0.0.1", "10.9.9.9, 10.0.0.2", trust)).toBe("10.9.9.9");
    // Garbage stops the walk and is clipped.
    expect(clientAddress("10.0.0.1", `${"x".repeat(500)}, 10.0.0.2`, trust)).toHaveLength(64);
  });
});
