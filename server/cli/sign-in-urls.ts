/**
 * Which dashboard address `npm start` may print for signing in. Sign-in works at exactly
 * one origin: DASHBOARD_URL's (http://localhost:PORT when unset), which is better-auth's
 * baseURL and its only trusted origin (app/_lib/auth/auth.ts) and the CSRF check's
 * (app/_lib/auth/csrf.ts). Any other spelling of the same server — 127.0.0.1, the machine's
 * name, 0.0.0.0 — loads the sign-in page and then refuses the sign-in, so none is printed.
 *
 * `dashboardAddressProblem` refuses, without any I/O, what can never work: an unspecified
 * address (0.0.0.0, ::: a listening address, not one a browser can reach), a path (the
 * dashboard is served at /, so /og/login is not it), credentials in the URL.
 * `startBanner` composes what start.ts prints; `reachable` is whether `${url}/login`
 * answered from this machine (a URL behind a proxy or a DNS name only clients resolve may
 * not, and is then printed with that said, not hidden: it is still the one that works).
 */

const UNSPECIFIED = new Set(["0.0.0.0", "[::]", "[0:0:0:0:0:0:0:0]"]);

export function dashboardAddressProblem(dashboardUrl: string): string | null {
  let url: URL;
  try {
    url = new URL(dashboardUrl);
  } catch {
    return `DASHBOARD_URL is not a URL`;
  }
  if (UNSPECIFIED.has(url.hostname)) {
    return `DASHBOARD_URL names ${url.hostname}, an address to listen on, not one a browser can open (and sign-in accepts only DASHBOARD_URL's origin)`;
  }
  if (url.username || url.password) return "DASHBOARD_URL must not carry a user name or password";
  if (url.pathname !== "/" && url.pathname !== "") {
    return `DASHBOARD_URL has a path (${url.pathname}); the dashboard is served at the root of its origin`;
  }
  return null;
}

export interface BannerInput {
  dashboardUrl: string;
  gatewayPublicUrl: string;
  health: string;
  adminListener: boolean;
  dashboardReady: boolean;
  gatewayReady: boolean;
  /** `${dashboardUrl}/login` answered from this machine. */
  reachable: boolean;
  setupToken: string | null;
}

export function startBanner(input: BannerInput): string[] {
  const problem = dashboardAddressProblem(input.dashboardUrl);
  const lines = ["", "OriginGate is running."];
  if (problem) {
    lines.push(
      `  Dashboard  no usable sign-in address: ${problem}.`,
      "             Set DASHBOARD_URL to the address people type, e.g. http://localhost:<PORT> on this machine",
      "             or https://origingate.example.com behind your proxy, and start again.",
    );
  } else {
    const origin = new URL(input.dashboardUrl).origin;
    const note = !input.dashboardReady
      ? "   (not answering yet)"
      : !input.reachable
        ? "   (not reachable from this machine: through your proxy or DNS name only)"
        : "";
    lines.push(`  Dashboard  ${origin}${note}`);
  }
  lines.push(
    `  Gateway    ${input.gatewayPublicUrl}   tenant endpoint /t/<slug>/…${input.gatewayReady ? "" : "   (not ready yet)"}`,
    `  Health     ${input.health}/healthz, /readyz, /metrics${input.adminListener ? "   (admin listener)" : ""}`,
  );
  const origin = problem ? null : new URL(input.dashboardUrl).origin;
  if (input.setupToken) {
    lines.push(
      origin
        ? `  First sign-in: open ${origin}/setup and use this one-time setup token:`
        : "  First sign-in: once DASHBOARD_URL is fixed, open its /setup page and use this one-time setup token:",
      "",
      `      ${input.setupToken}`,
      "",
      "  (or create an admin with: npm run ctl -- user:create --email you@example.com --password '…' --role admin)",
    );
  } else if (origin) {
    lines.push(`  Sign in at ${origin}/login with your account (only this address: sign-in refuses other names).`);
  }
  lines.push("  Stop with Ctrl-C.", "");
  return lines;
}
