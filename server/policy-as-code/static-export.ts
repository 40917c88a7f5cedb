/**
 * Static exports of a tenant's allowlist for proxies that cannot call out to OriginGate
 * (no forward auth): an nginx `map` block and an HAProxy map file (`map_reg`). They decide
 * on the Origin header alone, exactly like the engine for what they export:
 *
 * - exact entries: the origin as browsers send it, compared case-insensitively, and also
 *   with the scheme's default port written out (`https://a.example.com:443`), which the
 *   engine treats as the same origin;
 * - wildcard entries (`https://*.example.com`): one anchored regular expression — the same
 *   scheme, one or more labels of `a-z 0-9 _ -` (at most 63 characters each, the host at
 *   most 253: the engine's own host rules) then the suffix, the pattern's port (or the
 *   default port, written or not), nothing else. So `example.com` itself,
 *   `evilexample.com`, `example.com.evil.net`, a path, userinfo or a trailing dot never
 *   match.
 *
 * What a static map cannot express is left out and said in the output's comments (the
 * proxy then refuses it — failing closed — or does not check it): any-port entries, `*`,
 * `null`, requests without Origin, ambient credentials, tokens, subprotocols, limits,
 * CORS, report-only mode, and expiries (an entry with an expiry is exported while it is
 * live and stays in the file until the file is regenerated; the header says until when
 * the file is exact). Expired entries are left out. Notes are never copied: they are
 * free text and the output is configuration.
 *
 * Pure: the document and the time in, the file's text out. Patterns are parsed by the
 * engine's parsePattern, so what is exported is what the gateway would match.
 */
import type { PolicyDocument } from "../policy/document";
import { type ParsedPattern, parsePattern } from "../policy/parse-pattern";
import { canonicalSpec } from "./policy-yaml";

export const EXPORT_FORMATS = ["nginx", "haproxy"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Default ports the engine folds into "no port" (server/policy/parse-origin.ts). */
const DEFAULT_PORTS: ReadonlyMap<string, number> = new Map([
  ["http", 80],
  ["https", 443],
  ["ws", 80],
  ["wss", 443],
  ["ftp", 21],
]);

/** One subdomain label as the engine accepts it in an Origin (lower-cased by the proxy). */
const LABEL = "[a-z0-9_-]{1,63}";
const MAX_HOST = 253;

export interface ExportOptions {
  format: ExportFormat;
  tenant: string;
  version: number;
  document: PolicyDocument;
  now: Date;
}

interface Rule {
  pattern: string;
  /** nginx map keys / HAProxy map_reg keys, one per line. */
  exact: string[];
  regex: string | null;
  expiresAt: string | null;
}

/** The nginx variable an export sets: `$og_origin_allowed_<slug>` (hyphens as underscores). */
export function nginxVariable(tenant: string): string {
  return `og_origin_allowed_${tenant.replace(/-/g, "_")}`;
}

export function exportStaticMap(options: ExportOptions): string {
  const spec = canonicalSpec(options.document);
  const nowMs = options.now.getTime();
  const rules: Rule[] = [];
  const leftOut: string[] = [];
  let validUntil: string | null = null;
  for (const entry of spec.origins) {
    const expiry = entry.expiresAt === null ? null : Date.parse(entry.expiresAt);
    if (expiry !== null && expiry <= nowMs) {
      leftOut.push(`${entry.pattern}: expired at ${entry.expiresAt}`);
      continue;
    }
    const parsed = parsePattern(entry.pattern);
    if (!parsed.ok) {
      leftOut.push(`${entry.pattern}: not a valid pattern (${parsed.message})`);
      continue;
    }
    const rule = ruleFor(parsed.value);
    if (typeof rule === "string") {
      leftOut.push(`${entry.pattern}: ${rule}`);
      continue;
    }
    rules.push({ ...rule, expiresAt: entry.expiresAt });
    if (entry.expiresAt !== null && (validUntil === null || entry.expiresAt < validUntil)) {
      validUntil = entry.expiresAt;
    }
  }

  const header = headerLines(options, spec, rules, leftOut, validUntil);
  return options.format === "nginx" ? nginxMap(options.tenant, header, rules) : haproxyMap(header, rules);
}

/** The lines of one entry, or why it cannot be exported. */
function ruleFor(pattern: ParsedPattern): Omit<Rule, "expiresAt"> | string {
  switch (pattern.kind) {
    case "exact": {
      const defaultPort = DEFAULT_PORTS.get(pattern.scheme);
      const exact = [pattern.origin];
      if (pattern.port === null && defaultPort !== undefined) exact.push(`${pattern.origin}:${defaultPort}`);
      return { pattern: pattern.pattern, exact, regex: null };
    }
    case "wildcard": {
      const defaultPort = DEFAULT_PORTS.get(pattern.scheme);
      const port = pattern.port !== null ? `:${pattern.port}` : defaultPort !== undefined ? `(?::${defaultPort})?` : "";
      const regex =
        `^${escapeRegex(pattern.scheme)}://(?=[^:]{1,${MAX_HOST}}(?::|$))` +
        `(?:${LABEL}\\.)+${escapeRegex(pattern.suffix)}${port}$`;
      return { pattern: pattern.pattern, exact: [], regex };
    }
    case "any-port":
      return "any-port entries are not exported (list the ports you use as exact entries)";
    case "any":
      return '"*" is not exported: it needs the engine\'s check of a well-formed origin';
    case "null":
      return 'the opaque origin "null" is not exported (any page can send it from a sandboxed iframe)';
  }
}

function headerLines(
  options: ExportOptions,
  spec: PolicyDocument,
  rules: Rule[],
  leftOut: string[],
  validUntil: string | null,
): string[] {
  const lines = [
    `OriginGate static export of tenant "${options.tenant}", policy version ${options.version}, generated ${options.now.toISOString()}.`,
    "Regenerate it (ctl policy:export) after every policy change: this file does not follow the policy.",
    `Exported: ${rules.length} exact and wildcard entr${rules.length === 1 ? "y" : "ies"}, matched on the Origin header alone.`,
    validUntil === null
      ? "No exported entry expires."
      : `Exact until ${validUntil}: entries marked "expires" stay allowed here until the file is regenerated.`,
    "Not expressed by this file (the proxy refuses or does not check them):",
  ];
  for (const text of leftOut) lines.push(`  - left out: ${text}`);
  lines.push(
    spec.missingOrigin === "allow"
      ? "  - requests without Origin: the policy allows them (missingOrigin: allow); this map refuses them"
      : "  - requests without Origin: refused, as the policy says (missingOrigin: reject)",
  );
  lines.push(
    spec.credentials === "forbid"
      ? "  - credentials: forbid — Cookie and Authorization headers are NOT refused by this map"
      : "  - credentials: allow — nothing to check",
  );
  lines.push(
    spec.token === "required"
      ? "  - token: required — handshake tokens are NOT checked by this map"
      : "  - token: off — nothing to check",
  );
  if (spec.subprotocols.length > 0) lines.push("  - subprotocols: NOT checked by this map");
  lines.push("  - limits, CORS response headers and preflights: not handled by this map");
  if (spec.mode === "report-only") {
    lines.push("  - mode: report-only — the gateway only logs; this map ENFORCES the allowlist");
  }
  lines.push(
    "  - punycode (xn--) labels under a wildcard are not decoded: an invalid one the gateway refuses passes here",
  );
  return lines;
}

function nginxMap(tenant: string, header: string[], rules: Rule[]): string {
  const variable = nginxVariable(tenant);
  const out = [
    ...header,
    "  - nginx reads only the first of several Origin header lines (the gateway refuses several)",
    "",
    "Use: include this file in the http {} block, then refuse where the variable is 0, e.g.",
    `    location /socket/ { if ($${variable} = 0) { return 403; } proxy_pass ...; }`,
  ].map(comment);
  out.push(`map $http_origin $${variable} {`, "    default 0;");
  for (const rule of rules) {
    const expires = rule.expiresAt === null ? "" : `  # expires ${rule.expiresAt}`;
    for (const key of rule.exact) out.push(`    "${key}" 1;${expires}`);
    if (rule.regex !== null) out.push(`    "~*${rule.regex}" 1;  # ${rule.pattern}${expires}`);
  }
  out.push("}");
  return `${out.join("\n")}\n`;
}

function haproxyMap(header: string[], rules: Rule[]): string {
  const out = [
    ...header,
    "",
    "Use: map_reg on the lower-cased Origin header (one header line only), e.g.",
    "  http-request deny deny_status 403 if { req.fhdr_cnt(origin) gt 1 }",
    "  http-request set-var(txn.og_origin) req.fhdr(origin),lower,map_reg(/etc/haproxy/origingate.map,0)",
    "  http-request deny deny_status 403 unless { var(txn.og_origin) -m str 1 }",
  ].map(comment);
  for (const rule of rules) {
    if (rule.expiresAt !== null) out.push(`# ${rule.pattern} expires ${rule.expiresAt}`);
    for (const key of rule.exact) out.push(`^${escapeRegex(key)}$ 1`);
    if (rule.regex !== null) out.push(`${rule.regex} 1`);
  }
  return `${out.join("\n")}\n`;
}

function comment(line: string): string {
  return line === "" ? "#" : `# ${line}`;
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}
