/**
 * The tester page's data: registered endpoints (queryOptions; the key is queries.ts's), the two
 * runs and endpoint registration as mutation functions, request-body building from the
 * form, sample origins for the presets, and the scan export (CSV/JSON). Browser-safe.
 */
import { queryOptions } from "@tanstack/react-query";
import { parsePattern } from "@/server/policy/browser";
import type { HandshakeInput, ScanInput } from "@/server/tester/input";
import type { HandshakeResponse, ScanResponse, ScanResult } from "@/server/tester/types";

export { scanToCsv } from "./scan-export";

import { api } from "@/app/_client/api-client";
import { keys } from "@/app/_client/queries";
import type { TesterEndpointView } from "@/app/_lib/tester/list-endpoints";

export type { HandshakeResponse, ScanResponse, ScanResult, TesterEndpointView };

const enc = encodeURIComponent;

export const endpointsQuery = (slug: string) =>
  queryOptions({
    queryKey: keys.endpoints(slug),
    queryFn: ({ signal }) => api<TesterEndpointView[]>(`/api/v1/tenants/${enc(slug)}/endpoints`, { signal }),
  });

export const runHandshake = (body: HandshakeInput) =>
  api<HandshakeResponse>("/api/v1/tester/handshake", { method: "POST", body });

export const runScan = (body: ScanInput) => api<ScanResponse>("/api/v1/tester/scan", { method: "POST", body });

export const registerEndpoint = (slug: string, body: { url: string; label?: string }) =>
  api<TesterEndpointView>(`/api/v1/tenants/${enc(slug)}/endpoints`, { method: "POST", body });

export const removeEndpoint = (slug: string, id: string) =>
  api<void>(`/api/v1/tenants/${enc(slug)}/endpoints/${enc(id)}`, { method: "DELETE" });

/** Where a run goes: this gateway's tenant, or one of its registered endpoints. */
export interface TargetChoice {
  tenant: string;
  endpoint: TesterEndpointView | null;
}

export interface HandshakeForm {
  originMode: "value" | "none" | "null";
  origin: string;
  path: string;
  cookie: string;
  authorization: string;
  token: string;
  subprotocols: string;
  headers: string;
}

export const EMPTY_FORM: HandshakeForm = {
  originMode: "value",
  origin: "",
  path: "",
  cookie: "",
  authorization: "",
  token: "",
  subprotocols: "",
  headers: "",
};

/** "Name: value" lines → object; a line without a colon is reported, not guessed. */
export function parseHeaderLines(text: string): { headers: Record<string, string>; error: string | null } {
  const headers: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return { headers, error: `line ${index + 1}: write each header as Name: value` };
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return { headers, error: null };
}

export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Common fields of both runs, from the form (empty fields are left out). */
function credentialFields(form: HandshakeForm, headers: Record<string, string>) {
  const subprotocols = splitList(form.subprotocols);
  return {
    ...(form.cookie ? { cookie: form.cookie } : {}),
    ...(form.authorization ? { authorization: form.authorization } : {}),
    ...(form.token.trim() ? { token: form.token.trim() } : {}),
    ...(subprotocols.length > 0 ? { subprotocols } : {}),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
  };
}

function targetFields(target: TargetChoice, form: HandshakeForm) {
  return target.endpoint
    ? { tenant: target.tenant, url: target.endpoint.url }
    : { tenant: target.tenant, ...(form.path ? { path: form.path } : {}) };
}

export function handshakeBody(
  target: TargetChoice,
  form: HandshakeForm,
  headers: Record<string, string>,
): HandshakeInput {
  const origin = form.originMode === "none" ? null : form.originMode === "null" ? "null" : form.origin;
  return { ...targetFields(target, form), origin, ...credentialFields(form, headers) };
}

export function scanBody(target: TargetChoice, form: HandshakeForm, headers: Record<string, string>): ScanInput {
  return { ...targetFields(target, form), ...credentialFields(form, headers) };
}

export const ATTACKER_ORIGIN = "https://attacker.example.net";

/** An origin the allowlist genuinely allows, for the "browser on an allowed origin" preset. */
export function sampleAllowedOrigin(patterns: readonly string[]): string | null {
  for (const pattern of patterns) {
    const parsed = parsePattern(pattern);
    if (!parsed.ok) continue;
    const value = parsed.value;
    if (value.kind === "exact") return value.origin;
    if (value.kind === "wildcard")
      return `${value.scheme}://app.${value.suffix}${value.port === null ? "" : `:${value.port}`}`;
    if (value.kind === "any-port") return `${value.scheme}://${value.host}:3000`;
    if (value.kind === "any") return "https://app.example.com";
  }
  return null;
}

export interface Preset {
  id: string;
  label: string;
  description: string;
  apply: (form: HandshakeForm, ctx: { allowedOrigin: string | null; subprotocol: string | null }) => HandshakeForm;
}

const clean = (form: HandshakeForm): HandshakeForm => ({ ...form, cookie: "", authorization: "" });

export const PRESETS: Preset[] = [
  {
    id: "allowed",
    label: "Browser on an allowed origin",
    description: "Origin from the allowlist, no cookies: what your own front-end sends. Expect 101.",
    apply: (form, ctx) => ({
      ...clean(form),
      originMode: "value",
      origin: ctx.allowedOrigin ?? "https://app.example.com",
      subprotocols: form.subprotocols || (ctx.subprotocol ?? ""),
    }),
  },
  {
    id: "attacker",
    label: "Attacker page on another site",
    description: "A page on a site you do not control opens your socket. Expect 403 origin_not_allowed.",
    apply: (form) => ({ ...clean(form), originMode: "value", origin: ATTACKER_ORIGIN }),
  },
  {
    id: "native",
    label: "Native client without Origin",
    description:
      "Mobile apps, servers and CLI tools send no Origin. Governed by the missing-Origin switch, never by *.",
    apply: (form) => ({ ...clean(form), originMode: "none" }),
  },
  {
    id: "null",
    label: "Sandboxed iframe (null)",
    description:
      'Sandboxed iframes, file:// pages and some redirects send Origin: null. Only a "null" pattern admits it.',
    apply: (form) => ({ ...clean(form), originMode: "null" }),
  },
  {
    id: "cookie",
    label: "Cookie-bearing request from an allowed origin",
    description:
      "Your own front-end's origin with a session cookie attached: the credential policy decides, not the allowlist. With credentials: forbid, expect 403 credentials_forbidden (send a token instead).",
    apply: (form, ctx) => ({
      ...form,
      originMode: "value",
      origin: ctx.allowedOrigin ?? "https://app.example.com",
      cookie: "session=victim-session-id",
      authorization: "",
      subprotocols: form.subprotocols || (ctx.subprotocol ?? ""),
    }),
  },
];

export function download(filename: string, type: string, content: string): void {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
