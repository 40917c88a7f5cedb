/**
 * What `npm start` prints for signing in (issue 16): only DASHBOARD_URL's origin, the one
 * better-auth trusts; never a listening address (0.0.0.0, ::) or another spelling of the
 * host; a URL that cannot work is replaced by what to fix.
 */
import { describe, expect, it } from "vitest";
import { type BannerInput, dashboardAddressProblem, startBanner } from "../../server/cli/sign-in-urls";
import { loadConfig as loadConfigFromEnv } from "../../server/config";

const loadConfig = (env: Record<string, string>) => loadConfigFromEnv(env as NodeJS.ProcessEnv);

const base: BannerInput = {
  dashboardUrl: "http://localhost:3000",
  gatewayPublicUrl: "ws://localhost:8080",
  health: "http://127.0.0.1:8080",
  adminListener: false,
  dashboardReady: true,
  gatewayReady: true,
  reachable: true,
  setupToken: null,
};

/** Every http(s) URL the banner offers for the dashboard (the health line is not one). */
function dashboardUrls(lines: string[]): string[] {
  return lines
    .filter((l) => !l.trimStart().startsWith("Health"))
    .flatMap((l) => l.match(/https?:\/\/[^\s/]+(?:\/[a-z]+)?/g) ?? []);
}

describe("dashboardAddressProblem", () => {
  it.each(["http://localhost:3000", "https://origingate.example.com", "http://192.0.2.10:3000", "http://[::1]:3000"])(
    "accepts %s",
    (url) => {
      expect(dashboardAddressProblem(url)).toBeNull();
    },
  );
  it.each([
    ["http://0.0.0.0:3000", /0\.0\.0\.0, an address to listen on/],
    ["http://[::]:3000", /\[::\], an address to listen on/],
    ["https://og.example.com/console", /has a path \(\/console\)/],
    ["https://admin:pw@og.example.com", /user name or password/],
  ])("refuses %s", (url, message) => {
    expect(dashboardAddressProblem(url)).toMatch(message);
  });
});

describe("startBanner", () => {
  it("prints the sign-in origin as the configuration gives it (unset: localhost), and only it", () => {
    const config = loadConfig({ PORT: "3123" });
    const lines = startBanner({ ...base, dashboardUrl: config.dashboardUrl, setupToken: "ogs_token" });
    expect(dashboardUrls(lines)).toEqual(["http://localhost:3123", "http://localhost:3123/setup"]);
    expect(lines.join("\n")).toContain("ogs_token");
  });

  it("prints DASHBOARD_URL's origin (no trailing slash) for sign-in", () => {
    const config = loadConfig({ PORT: "3000", DASHBOARD_URL: "https://og.example.com/" });
    const lines = startBanner({ ...base, dashboardUrl: config.dashboardUrl });
    expect(dashboardUrls(lines)).toEqual(["https://og.example.com", "https://og.example.com/login"]);
  });

  it("never prints a listening address: says what to fix instead, and keeps the setup token", () => {
    const config = loadConfig({ PORT: "3000", DASHBOARD_URL: "http://0.0.0.0:3000" });
    const lines = startBanner({ ...base, dashboardUrl: config.dashboardUrl, setupToken: "ogs_token" });
    const text = lines.join("\n");
    expect(text).not.toContain("0.0.0.0:");
    expect(text).not.toMatch(/Sign in at|open http/);
    expect(text).toContain("no usable sign-in address");
    expect(text).toContain("Set DASHBOARD_URL");
    expect(text).toContain("ogs_token");
  });

  it("says when the address did not answer from this machine (a proxy's name), rather than hiding it", () => {
    const lines = startBanner({ ...base, dashboardUrl: "https://og.example.com", reachable: false });
    expect(lines.find((l) => l.includes("Dashboard"))).toMatch(
      /https:\/\/og\.example\.com {3}\(not reachable from this machine/,
    );
  });
});
