/**
 * bypassVariants: for one allowlist pattern, the Origin values a scan should try — the
 * classic ways origin checks are bypassed (SPEC §8 scan mode). Sources: PortSwigger,
 * "Exploiting CORS misconfigurations for Bitcoins and bounties" (prefix/suffix lookalikes,
 * unescaped dots, `null`, http downgrade) and "Advanced CORS exploitation techniques"
 * (special characters after the host that some browsers and parsers accept); Christian
 * Schneider, "Cross-Site WebSocket Hijacking" (the missing-Origin and third-party cases);
 * Unicode TR #39 confusables (Cyrillic homoglyphs).
 *
 * Each variant names what it probes. The list mixes origins a correct matcher must refuse
 * with controls it must accept (a genuine subdomain of a wildcard, an upper-case spelling
 * of the allowed host), so a scan also catches a checker that refuses too much; whether a
 * variant is expected to pass is the caller's call (`decideHandshake` on the policy says
 * what *we* do). `raw: true` marks values that are not canonical and must be sent byte for
 * byte. No duplicates (by origin value).
 *
 * Browser-safe, pure.
 */
import { hostToAscii } from "./parse-host";
import { parseOrigin } from "./parse-origin";
import { parsePattern } from "./parse-pattern";

export interface BypassVariant {
  label: string;
  /** null = send no Origin header at all. */
  origin: string | null;
  /** True when `origin` is not in canonical form and must be sent verbatim. */
  raw?: boolean;
}

/** Characters some parsers treat as the end of the host (PortSwigger, Safari/Chrome quirks). */
const SPECIAL_CHARACTERS = [
  "_",
  "`",
  "}",
  "%60",
  "!",
  "$",
  "'",
  "(",
  "*",
  "+",
  ",",
  ";",
  "=",
  "|",
  "~",
  "&",
  "^",
  "-",
  "{",
  '"',
];
/** Latin letters and the Cyrillic letters that render the same (Unicode confusables). */
const HOMOGLYPHS: Readonly<Record<string, string>> = {
  a: "\u0430",
  e: "\u0435",
  o: "\u043e",
  c: "\u0441",
  p: "\u0440",
  x: "\u0445",
  y: "\u0443",
  i: "\u0456",
};
const ATTACKER_DOMAIN = "evil.net";
const IPV4 = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;

export function bypassVariants(pattern: string): BypassVariant[] {
  const parsed = parsePattern(pattern);
  if (!parsed.ok) return [];
  const variants = new VariantList();
  const value = parsed.value;
  switch (value.kind) {
    case "any":
      break;
    case "null":
      variants.add("third-party origin (only null is allowed)", `https://${ATTACKER_DOMAIN}`);
      break;
    case "exact":
      addHostVariants(variants, { scheme: value.scheme, host: value.host, port: value.port, portMatters: true });
      if (!isIpLiteral(value.host)) {
        variants.add(
          "subdomain of an exact host (endsWith check)",
          originOf(value.scheme, `sub.${value.host}`, value.port),
        );
      }
      break;
    case "any-port":
      // Any port is allowed, so only the host and scheme can be attacked; use a sample port.
      addHostVariants(variants, { scheme: value.scheme, host: value.host, port: 3000, portMatters: false });
      break;
    case "wildcard": {
      const { scheme, suffix, port } = value;
      variants.add("sample subdomain (a genuine match)", originOf(scheme, `sub.${suffix}`, port));
      variants.add("deep subdomain (a genuine match)", originOf(scheme, `a.b.sub.${suffix}`, port));
      variants.add("apex of the wildcard (not covered)", originOf(scheme, suffix, port));
      variants.add("prefixed apex (endsWith check)", originOf(scheme, `evil${suffix}`, port));
      variants.add("subdomain of a prefixed apex", originOf(scheme, `sub.evil${suffix}`, port));
      variants.add("hyphenated lookalike of the apex", originOf(scheme, `sub.evil-${suffix}`, port));
      addHostVariants(variants, { scheme, host: `sub.${suffix}`, port, portMatters: true, protectedSuffix: suffix });
      break;
    }
  }
  variants.add('opaque origin "null"', "null");
  variants.add("no Origin header (non-browser client)", null);
  variants.add("unrelated third-party origin", `https://${ATTACKER_DOMAIN}`);
  return variants.list;
}

interface Target {
  scheme: string;
  host: string;
  port: number | null;
  /** False for any-port patterns, where another port is not a bypass. */
  portMatters: boolean;
  /** For wildcards: the part of the host that must stay intact (homoglyphs go there). */
  protectedSuffix?: string;
}

function addHostVariants(variants: VariantList, target: Target): void {
  const { scheme, host, port } = target;
  if (scheme === "https" || scheme === "wss") {
    const downgraded = scheme === "https" ? "http" : "ws";
    variants.add(`scheme downgrade (${scheme} → ${downgraded})`, originOf(downgraded, host, port));
  }
  if (target.portMatters) {
    if (port === null)
      variants.add("different port", originOf(scheme, host, scheme === "https" || scheme === "wss" ? 8443 : 8080));
    else {
      variants.add("default port instead of the listed one", originOf(scheme, host, null));
      variants.add("neighbouring port", originOf(scheme, host, port < 65_535 ? port + 1 : port - 1));
    }
  }
  if (!isIpLiteral(host)) {
    variants.add(
      "allowed host as prefix of an attacker domain (startsWith check)",
      originOf(scheme, `${host}.${ATTACKER_DOMAIN}`, port),
    );
    variants.add(
      "allowed host glued to an attacker domain (unanchored end)",
      originOf(scheme, `${host}-${ATTACKER_DOMAIN}`, port),
    );
    variants.add("prefixed host (endsWith check)", originOf(scheme, `evil${host}`, port));
    variants.add("hyphen-prefixed host", originOf(scheme, `evil-${host}`, port));
    for (let dot = host.indexOf("."); dot >= 0 && dot < host.length - 1; dot = host.indexOf(".", dot + 1)) {
      const unescaped = `${host.slice(0, dot)}x${host.slice(dot + 1)}`;
      variants.add(`unescaped dot in a regex (${unescaped})`, originOf(scheme, unescaped, port));
    }
    for (const character of SPECIAL_CHARACTERS) {
      variants.add(
        `special character ${character} after the host`,
        originOf(scheme, `${host}${character}.${ATTACKER_DOMAIN}`, port),
      );
    }
    const upper = originOf(scheme, host.toUpperCase(), port);
    variants.add("upper-case host (same origin after normalisation: must be accepted)", upper);
    if (!host.endsWith(".")) variants.add("trailing dot (a different host)", originOf(scheme, `${host}.`, port));
    const homoglyph = homoglyphHost(host, target.protectedSuffix);
    if (homoglyph) {
      // Sent the way a browser would: in punycode.
      const ascii = hostToAscii(homoglyph);
      const canonical = ascii.ok ? parseOrigin(originOf(scheme, ascii.ascii, port)) : null;
      if (canonical?.kind === "origin") variants.add(`IDN homoglyph (${homoglyph})`, canonical.origin);
    }
  }
}

/** Replaces the first letter with a Cyrillic lookalike, inside the protected suffix if any. */
function homoglyphHost(host: string, protectedSuffix: string | undefined): string | null {
  const start = protectedSuffix === undefined ? 0 : host.length - protectedSuffix.length;
  for (let index = start; index < host.length; index++) {
    const lookalike = HOMOGLYPHS[host[index]!];
    // Labels already in punycode would turn into garbage rather than a lookalike.
    if (lookalike && !host.slice(host.lastIndexOf(".", index) + 1).startsWith("xn--")) {
      return `${host.slice(0, index)}${lookalike}${host.slice(index + 1)}`;
    }
  }
  return null;
}

function isIpLiteral(host: string): boolean {
  return host.startsWith("[") || IPV4.test(host);
}

function originOf(scheme: string, host: string, port: number | null): string {
  return port === null ? `${scheme}://${host}` : `${scheme}://${host}:${port}`;
}

class VariantList {
  readonly list: BypassVariant[] = [];
  private readonly seen = new Set<string | null>();

  add(label: string, origin: string | null): void {
    if (this.seen.has(origin)) return;
    this.seen.add(origin);
    if (origin === null || origin === "null") {
      this.list.push({ label, origin });
      return;
    }
    const parsed = parseOrigin(origin);
    const canonical = parsed.kind === "origin" && parsed.origin === origin;
    this.list.push(canonical ? { label, origin } : { label, origin, raw: true });
  }
}
