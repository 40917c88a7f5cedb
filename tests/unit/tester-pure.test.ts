/**
 * The tester's pure parts: target URL normalization (the registered-endpoint comparison),
 * request validation (header injection, handshake headers, path traversal), the scan's
 * variant list (dedup, controls, bound) and the CSV export (quoting, formula injection).
 */
import { describe, expect, it } from "vitest";
import { CSV_COLUMNS, scanToCsv } from "../../app/(console)/tester/scan-export";
import { httpForm, normalizeEndpointUrl, redactUrlQuery, socketForm } from "../../server/tester/endpoint-url";
import { handshakeInputSchema, scanInputSchema } from "../../server/tester/input";
import { scanVariants } from "../../server/tester/scan-variants";
import type { ScanResponse, ScanResult } from "../../server/tester/types";

describe("socketForm / httpForm (one registration, both testers)", () => {
  it.each([
    ["https://api.example.com/x", "wss://api.example.com/x", "https://api.example.com/x"],
    ["http://127.0.0.1:8080/", "ws://127.0.0.1:8080/", "http://127.0.0.1:8080/"],
    ["wss://api.example.com/x", "wss://api.example.com/x", "https://api.example.com/x"],
    ["ws://127.0.0.1/a?b", "ws://127.0.0.1/a?b", "http://127.0.0.1/a?b"],
  ])("%s", (url, socket, http) => {
    expect(socketForm(url)).toBe(socket);
    expect(httpForm(url)).toBe(http);
  });
});

describe("normalizeEndpointUrl", () => {
  it.each([
    ["WS://Example.COM:80/chat", "ws://example.com/chat"],
    ["wss://example.com:443", "wss://example.com/"],
    ["ws://127.0.0.1:8080/a?b=1", "ws://127.0.0.1:8080/a?b=1"],
    ["wss://bücher.example/x", "wss://xn--bcher-kva.example/x"],
    ["  ws://[::1]:9000/  ", "ws://[::1]:9000/"],
    // The HTTP form of an endpoint (the CORS tester's), kept as written.
    ["HTTPS://Api.Example.com:443/events", "https://api.example.com/events"],
    ["http://127.0.0.1:8080/sse?x=1", "http://127.0.0.1:8080/sse?x=1"],
  ])("%s -> %s", (input, expected) => {
    expect(normalizeEndpointUrl(input)).toEqual({ ok: true, url: expected });
  });

  it.each([
    ["ftp://example.com/", /only ws/],
    ["ws://user:pw@example.com/", /credentials/],
    ["ws://example.com/#frag", /fragment/],
    ["ws://exa mple.com/", /spaces/],
    ["notaurl", /not a URL/],
    ["", /required/],
    [`ws://example.com/${"a".repeat(3000)}`, /longer/],
  ])("refuses case %#", (input, message) => {
    const result = normalizeEndpointUrl(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });

  it("hides query values for logs and audit", () => {
    expect(redactUrlQuery("ws://h/p?access_token=abc&x=1&x=2")).toBe("ws://h/p?access_token=…&x=…");
    expect(redactUrlQuery("ws://h/p")).toBe("ws://h/p");
  });
});

describe("request validation", () => {
  const issues = (schema: typeof handshakeInputSchema | typeof scanInputSchema, body: unknown) => {
    const result = schema.safeParse(body);
    return result.success ? [] : result.error.issues.map((i) => i.path.join("."));
  };

  it("accepts the SPEC shapes", () => {
    expect(issues(handshakeInputSchema, { tenant: "a", origin: null })).toEqual([]);
    expect(issues(handshakeInputSchema, { tenant: "a", origin: "null", path: "/x?y=1", subprotocols: ["v1"] })).toEqual(
      [],
    );
    expect(
      issues(handshakeInputSchema, { url: "ws://x/", origin: "https://a, https://b", headers: { "X-A": "1" } }),
    ).toEqual([]);
    expect(issues(scanInputSchema, { tenant: "a", url: "ws://x/" })).toEqual([]);
  });

  it("refuses header injection, handshake headers and traversal", () => {
    expect(issues(handshakeInputSchema, { tenant: "a", origin: "https://a\r\nX: y" })).toEqual(["origin"]);
    expect(issues(handshakeInputSchema, { tenant: "a", cookie: "a=b\nc" })).toEqual(["cookie"]);
    expect(issues(handshakeInputSchema, { tenant: "a", origin: "https://bücher.example" })).toEqual(["origin"]);
    for (const name of [
      "Host",
      "upgrade",
      "Connection",
      "Sec-WebSocket-Key",
      "sec-websocket-extensions",
      "Transfer-Encoding",
    ]) {
      expect(issues(handshakeInputSchema, { tenant: "a", headers: { [name]: "x" } })).toEqual([`headers.${name}`]);
    }
    expect(issues(handshakeInputSchema, { tenant: "a", headers: { "X-A": "1", "x-a": "2" } })).toEqual(["headers.x-a"]);
    expect(issues(handshakeInputSchema, { tenant: "a", headers: { "X-A": "1\r\nInjected: 1" } })).toEqual([
      "headers.X-A",
    ]);
    for (const path of ["/../admin", "/a/./b", "/a/..", "a", "/a b", "/a#b", "/a\\b"]) {
      expect(issues(handshakeInputSchema, { tenant: "a", path }), path).toContain("path");
    }
    expect(issues(handshakeInputSchema, { tenant: "a", token: "eyJ.x y" })).toEqual(["token"]);
    expect(issues(handshakeInputSchema, { tenant: "a", unknown: 1 })).toEqual([""]);
    expect(issues(handshakeInputSchema, {})).toEqual(["tenant"]);
    expect(issues(scanInputSchema, { url: "ws://x/" })).toEqual(["tenant"]);
    expect(issues(handshakeInputSchema, { url: "ws://x/", path: "/y" })).toEqual(["path"]);
  });
});

describe("scanVariants", () => {
  it("starts with the global cases, adds a control per entry, never repeats an origin", () => {
    const { variants, truncated } = scanVariants([
      "https://app.example.com",
      "http://localhost:*",
      "https://*.example.org",
    ]);
    expect(truncated).toBe(false);
    expect(variants.slice(0, 3).map((v) => v.origin)).toEqual([null, "null", "https://evil.net"]);
    expect(variants.slice(0, 3).every((v) => v.patterns.length === 0)).toBe(true);
    const origins = variants.map((v) => v.origin);
    expect(new Set(origins).size).toBe(origins.length);
    expect(variants.find((v) => v.origin === "https://app.example.com")?.label).toMatch(/control/);
    expect(variants.find((v) => v.origin === "http://localhost:3000")?.patterns).toEqual(["http://localhost:*"]);
    expect(origins).toContain("https://sub.example.org");
    expect(origins).toContain("http://app.example.com");
  });

  it("is bounded, and says so", () => {
    const patterns = Array.from({ length: 100 }, (_, i) => `https://app${i}.example.com`);
    const { variants, truncated } = scanVariants(patterns, 500);
    expect(variants).toHaveLength(500);
    expect(truncated).toBe(true);
    expect(scanVariants(patterns.slice(0, 1), 500).truncated).toBe(false);
  });
});

describe("scanToCsv", () => {
  const row = (over: Partial<ScanResult>): ScanResult => ({
    variant: "v",
    origin: "https://a.example",
    patterns: ["https://a.example"],
    expected: "refuse",
    expectedReason: "origin_not_allowed",
    observed: "allowed",
    status: 101,
    finding: true,
    ...over,
  });
  const scan = (results: ScanResult[]) => ({ results }) as unknown as ScanResponse;

  it("writes one quoted row per variant under a fixed header", () => {
    const csv = scanToCsv(
      scan([
        row({ variant: 'special character " after the host', origin: 'https://a.example".evil.net' }),
        row({ origin: null, finding: false, observed: "refused", status: 403, reason: "origin_missing" }),
      ]),
    );
    const lines = csv.trimEnd().split("\r\n");
    expect(lines[0]).toBe(CSV_COLUMNS.join(","));
    expect(lines[1]).toBe(
      '"special character "" after the host","https://a.example"".evil.net",refuse,origin_not_allowed,allowed,101,,,,true,https://a.example',
    );
    expect(lines[2]).toContain("(no Origin header),refuse,origin_not_allowed,refused,403,origin_missing");
  });

  it("defuses spreadsheet formulas", () => {
    const csv = scanToCsv(scan([row({ variant: '=HYPERLINK("http://x")', detail: "+1", origin: "@x" })]));
    expect(csv).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(csv).toContain(",'@x,");
    expect(csv).toContain(",'+1,");
  });
});
