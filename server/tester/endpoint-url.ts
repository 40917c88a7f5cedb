/**
 * normalizeEndpointUrl: the one spelling of a tester target URL, used when an admin
 * registers an endpoint (dashboard) and when the gateway checks that a requested `url` is
 * registered. Two spellings of the same endpoint compare equal; anything that is not a
 * plain ws://, wss://, http:// or https:// URL is refused with a message saying why.
 *
 * One registration covers one server address for both testers: the handshake tester
 * connects to its WebSocket form (`socketForm`: http → ws, https → wss) and the CORS tester
 * sends HTTP requests to its HTTP form (`httpForm`); registrations are compared in socket
 * form, so `https://api.example.com/feed` and `wss://api.example.com/feed` are the same
 * endpoint.
 *
 * Canonical form: the WHATWG serialisation (scheme and host lower-case, IDN in punycode,
 * default port dropped, empty path → "/"), with no userinfo (credentials in a URL would
 * end up in lists and logs) and no fragment (never sent). The query is kept: it is part of
 * what the endpoint receives, so `?a=1` and `?a=2` are different registrations.
 *
 * Browser-safe, pure.
 */

export type EndpointUrlResult = { ok: true; url: string } | { ok: false; message: string };

export const MAX_ENDPOINT_URL_LENGTH = 2048;
const ENDPOINT_SCHEMES = new Set(["ws:", "wss:", "http:", "https:"]);

/** The WebSocket form of an endpoint URL (http → ws, https → wss); others unchanged. */
export function socketForm(url: string): string {
  return url.replace(/^http(s?):\/\//i, (_m, s: string) => `ws${s.toLowerCase()}://`);
}

/** The HTTP form of an endpoint URL (ws → http, wss → https); others unchanged. */
export function httpForm(url: string): string {
  return url.replace(/^ws(s?):\/\//i, (_m, s: string) => `http${s.toLowerCase()}://`);
}

export function normalizeEndpointUrl(input: string): EndpointUrlResult {
  if (typeof input !== "string" || input.trim() === "")
    return { ok: false, message: "a ws://, wss://, http:// or https:// URL is required" };
  const value = input.trim();
  if (value.length > MAX_ENDPOINT_URL_LENGTH) {
    return { ok: false, message: `the URL is longer than ${MAX_ENDPOINT_URL_LENGTH} characters` };
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
  if (/[\u0000-\u0020\u007f]/.test(value))
    return { ok: false, message: "the URL contains spaces or control characters" };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, message: "not a URL: write it as wss://host[:port]/path or https://host[:port]/path" };
  }
  if (!ENDPOINT_SCHEMES.has(url.protocol)) {
    return {
      ok: false,
      message: `only ws://, wss://, http:// and https:// endpoints can be tested (got ${url.protocol.replace(/:$/, "")}://)`,
    };
  }
  if (url.username !== "" || url.password !== "") {
    return { ok: false, message: "credentials in the URL are not allowed; use the Authorization or Cookie fields" };
  }
  if (url.hash !== "" || value.includes("#"))
    return { ok: false, message: "a URL fragment (#...) is never sent; remove it" };
  if (url.hostname === "") return { ok: false, message: "the URL has no host" };
  return { ok: true, url: url.toString() };
}

/** The URL with the values of its query parameters hidden (they may hold tokens): for audit and logs. */
export function redactUrlQuery(value: string): string {
  try {
    const url = new URL(value);
    if (url.search === "") return url.toString();
    const names = [...new Set([...url.searchParams.keys()])];
    url.search = "";
    return `${url.toString()}?${names.map((n) => `${encodeURIComponent(n)}=…`).join("&")}`;
  } catch {
    return value.split("?")[0] ?? value;
  }
}
