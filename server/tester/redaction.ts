/**
 * Redaction of the tester's own credentials: the Cookie, Authorization and token values it
 * sent never appear in a result, whole or in parts, wherever a target echoes them (a
 * header, the body, a close reason, a `bearer.<jwt>` subprotocol answer); Set-Cookie values
 * in an answer are hidden too.
 */

export const REDACTED = "[redacted]";

export interface SentCredentials {
  token?: string | undefined;
  subprotocols?: readonly string[] | undefined;
  authorization?: string | undefined;
  cookie?: string | undefined;
  /** Headers sent but never shown (the gateway's tester mark, server/gateway/tester-mark.ts). */
  hiddenHeaders?: Readonly<Record<string, string>> | undefined;
}

/** Values that must never leave the tester: the credentials it sent, whole and in parts. */
export function secretValues(options: SentCredentials): string[] {
  const values: string[] = [];
  if (options.token) values.push(options.token);
  values.push(...Object.values(options.hiddenHeaders ?? {}));
  for (const p of options.subprotocols ?? []) if (p.startsWith("bearer.") && p.length > 7) values.push(p.slice(7));
  if (options.authorization) {
    values.push(options.authorization);
    const credential = options.authorization.replace(/^\S+\s+/, "");
    if (credential !== options.authorization) values.push(credential);
  }
  if (options.cookie) {
    values.push(options.cookie);
    for (const pair of options.cookie.split(";")) {
      const value = pair.slice(pair.indexOf("=") + 1).trim();
      if (pair.includes("=") && value !== "") values.push(value);
    }
  }
  // Short values would redact unrelated text; 4 characters is below any real secret.
  return [...new Set(values.filter((v) => v.length >= 4))].sort((a, b) => b.length - a.length);
}

export function redactedLength(value: string): string {
  return `${REDACTED} (${value.length} characters)`;
}

/** Redacts the given secret values (longest first) from text the tester reports. */
export class Redactor {
  constructor(private readonly secrets: readonly string[]) {}

  /** Replaces every occurrence of a secret value that was sent. */
  text(text: string): string {
    let out = text;
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }

  header(name: string, value: string): string {
    const lower = name.toLowerCase();
    if (lower === "set-cookie") {
      // Keep the cookie's name and attributes (SameSite, Secure... matter for CSWSH), hide its value.
      return value.replace(/^([^=;]*)=([^;]*)/, (_m, cookieName: string) => `${cookieName}=${REDACTED}`);
    }
    return this.text(value);
  }
}
