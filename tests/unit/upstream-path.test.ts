/**
 * The tenant endpoint's path rule (server/gateway/upstream-path.ts, SPEC §5): `<rest>` is
 * joined under the upstream URL's own path; dot segments (raw, percent-encoded in any case,
 * nested encodings, with path parameters), encoded slashes and backslashes, raw
 * backslashes and control characters are refused; the upstream never sees a path outside
 * its base; `access_token` never reaches it. Table-driven, plus a property: whatever `rest`
 * is, an accepted join lies under the base.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { accessTokenValues, checkRest, queryValues, upstreamTarget } from "../../server/gateway/upstream-path";

const BASE = "ws://127.0.0.1:20001/tenant-a";

describe("checkRest: refused paths", () => {
  it.each([
    ["/../secret", /\. or \.\. segment/],
    ["/./x", /\. or \.\. segment/],
    ["/a/..", /\. or \.\. segment/],
    ["/..", /\. or \.\. segment/],
    ["/..;/x", /\. or \.\. segment/],
    ["/..;jsessionid=1/x", /\. or \.\. segment/],
    ["/%2e%2e/%2e%2e/other-tenant/admin", /percent-encoded \. or \.\. segment/],
    ["/%2E%2E/x", /percent-encoded/],
    ["/%2e%2E/x", /percent-encoded/],
    ["/.%2e/x", /percent-encoded/],
    ["/%2e./x", /percent-encoded/],
    ["/%2e/x", /percent-encoded/],
    ["/%252e%252e/x", /percent-encoded/],
    ["/%25252e%25252e/x", /percent-encoded/],
    ["/a%2fb", /encoded slash/],
    ["/a%2F..%2Fb", /encoded slash/],
    ["/a%5cb", /encoded slash or backslash/],
    ["/a%5C..", /encoded slash or backslash/],
    ["/a%252fb", /encoded slash/],
    ["/a\\..\\b", /backslash/],
    ["/a\\b", /backslash/],
    ["/.\t./x", /control character/],
    ["/.\n./x", /control character/],
    ["/a b", /space/],
    ["/a#b", /fragment/],
    ["/a?b#c", /fragment/],
    ["/%zz", /malformed percent-encoding/],
    ["/%2", /malformed percent-encoding/],
    ["x", /must start with \//],
    ["/%2525252525252e", /nested too deep/],
  ])("%s", (rest, message) => {
    const checked = checkRest(rest);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.message).toMatch(message);
    expect(upstreamTarget(BASE, rest).ok).toBe(false);
  });
});

describe("checkRest: accepted paths", () => {
  it.each([
    ["", "", ""],
    ["/", "/", ""],
    ["/room/7", "/room/7", ""],
    ["?a=1", "", "a=1"],
    ["/x?y=1&z=%2e%2e", "/x", "y=1&z=%2e%2e"],
    ["/room/..data", "/room/..data", ""],
    ["/room/...", "/room/...", ""],
    ["/.well-known/x", "/.well-known/x", ""],
    ["/a.b/c.", "/a.b/c.", ""],
    ["/%41%42", "/%41%42", ""],
    ["/a%20b", "/a%20b", ""],
    ["/a//b", "/a//b", ""],
    ["/x?path=../../etc", "/x", "path=../../etc"],
  ])("%s", (rest, path, query) => {
    expect(checkRest(rest)).toEqual({ ok: true, path, query });
  });
});

describe("upstreamTarget: joined under the upstream's own path", () => {
  it.each([
    [BASE, "/room/7", "ws://127.0.0.1:20001/tenant-a/room/7"],
    [BASE, "", "ws://127.0.0.1:20001/tenant-a"],
    [BASE, "/", "ws://127.0.0.1:20001/tenant-a/"],
    [`${BASE}/`, "/x", "ws://127.0.0.1:20001/tenant-a/x"],
    ["ws://h", "", "ws://h/"],
    ["ws://h/", "/x", "ws://h/x"],
    ["wss://h:8443/a/b", "/c?d=1", "wss://h:8443/a/b/c?d=1"],
    [`${BASE}?k=v`, "/x?y=1", "ws://127.0.0.1:20001/tenant-a/x?k=v&y=1"],
    [BASE, "/é", "ws://127.0.0.1:20001/tenant-a/%C3%A9"],
  ])("%s + %s", (upstream, rest, expected) => {
    expect(upstreamTarget(upstream, rest)).toEqual({ ok: true, url: expected });
  });

  it("never forwards access_token, however its name is spelled on the wire", () => {
    const target = upstreamTarget(
      BASE,
      "/x?a=1&access_token=SECRET1&b=2&access%5Ftoken=SECRET2&access_token&c=3&access_token=SECRET3",
    );
    expect(target).toEqual({ ok: true, url: "ws://127.0.0.1:20001/tenant-a/x?a=1&b=2&c=3" });
  });

  it("keeps the other query pairs byte for byte", () => {
    expect(upstreamTarget(BASE, "/x?q=a+b&r=%2F&s==t")).toEqual({
      ok: true,
      url: "ws://127.0.0.1:20001/tenant-a/x?q=a+b&r=%2F&s==t",
    });
  });

  it("property: whatever the rest, an accepted target lies under the base path", () => {
    const piece = fc.constantFrom(
      "a",
      ".",
      "..",
      "%2e",
      "%2E",
      "%25",
      "2e",
      "/",
      "\\",
      ";",
      "%2f",
      "%5c",
      "?",
      "=",
      "&",
      "%",
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 16 }), (pieces) => {
        const rest = `/${pieces.join("")}`;
        const target = upstreamTarget(BASE, rest);
        if (!target.ok) return;
        const path = new URL(target.url).pathname;
        expect(path === "/tenant-a" || path.startsWith("/tenant-a/")).toBe(true);
        // And the URL parser ws uses sees no dot segment it could resolve.
        expect(path.split("/")).not.toContain("..");
      }),
      { numRuns: 2000 },
    );
  });
});

describe("access_token values", () => {
  it("returns every value, in order (a repeated parameter must reach the engine whole)", () => {
    expect(accessTokenValues("/x?access_token=VALID&access_token=garbage")).toEqual(["VALID", "garbage"]);
    expect(accessTokenValues("/x?access%5Ftoken=a")).toEqual(["a"]);
    expect(accessTokenValues("/x")).toEqual([]);
    expect(accessTokenValues("?access_token=")).toEqual([""]);
    expect(queryValues("", "access_token")).toEqual([]);
  });
});
