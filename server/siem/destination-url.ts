/**
 * normalizeSiemUrl: the one spelling of a SIEM destination's URL, used when an admin
 * registers it (dashboard) and what the gateway connects to.
 *
 *  - syslog: `tcp://host:port` — a port is required (there is no default for TCP syslog:
 *    601 and 514 are both in use), nothing after the authority;
 *  - webhook: `http://` or `https://` URL, path and query kept.
 * Never userinfo (credentials end up in lists and logs) and never a fragment. Canonical
 * form: the WHATWG serialisation (scheme and host lower-case, IDN in punycode).
 *
 * Browser-safe, pure. Whether the host may be reached (SPEC §5.2: a name must lead to public
 * addresses) is decided when connecting (server/net/pinned-lookup.ts) and checked once more
 * at registration (app/_lib/siem/check-destination-host.ts).
 */

export type SiemKind = "syslog" | "webhook";
export type SiemUrlResult = { ok: true; url: string; host: string } | { ok: false; message: string };

export const MAX_SIEM_URL_LENGTH = 2048;

export function normalizeSiemUrl(kind: SiemKind, input: string): SiemUrlResult {
  const value = typeof input === "string" ? input.trim() : "";
  const example = kind === "syslog" ? "tcp://siem.example.com:6514" : "https://siem.example.com/ingest";
  if (value === "") return { ok: false, message: `a URL is required, e.g. ${example}` };
  if (value.length > MAX_SIEM_URL_LENGTH) return { ok: false, message: `at most ${MAX_SIEM_URL_LENGTH} characters` };
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
  if (/[\u0000-\u0020\u007f]/.test(value))
    return { ok: false, message: "the URL contains spaces or control characters" };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, message: `not a URL: write it like ${example}` };
  }
  if (url.username !== "" || url.password !== "") {
    return { ok: false, message: "credentials in the URL are not allowed" };
  }
  if (url.hash !== "" || value.includes("#")) return { ok: false, message: "a URL fragment (#...) is not allowed" };
  if (url.hostname === "") return { ok: false, message: "the URL has no host" };
  if (kind === "syslog") {
    if (url.protocol !== "tcp:")
      return { ok: false, message: `a syslog destination is tcp://host:port (e.g. ${example})` };
    const authority = /^tcp:\/\/([^/?#]*)\/?$/i.exec(value)?.[1];
    if (authority === undefined)
      return { ok: false, message: "a syslog destination is only tcp://host:port (no path or query)" };
    const parts = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(authority);
    if (!parts) return { ok: false, message: "a syslog destination needs a port (tcp://host:port)" };
    const port = Number(parts[2]);
    if (port < 1 || port > 65535) return { ok: false, message: "the port must be 1-65535" };
    // The host as http:// would spell it: lower case, IDN in punycode, IP literals canonical.
    let host: string;
    try {
      host = new URL(`http://${parts[1]}`).hostname;
    } catch {
      return { ok: false, message: `not a host name or IP address: ${parts[1]}` };
    }
    return { ok: true, url: `tcp://${host}:${port}`, host };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { ok: false, message: `a webhook destination is an http:// or https:// URL (e.g. ${example})` };
  }
  return { ok: true, url: url.toString(), host: url.hostname };
}
