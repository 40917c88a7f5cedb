/**
 * Secrets at rest: AES-256-GCM with a key kept outside the database (`SECRETS_KEY`).
 *
 * What goes through here: tenant token secrets (current and previous), signing keys kept in
 * the `setting` table (auth secret, admin-token key), and the gateway's policy snapshot file.
 *
 * Sealed form (text, fits the existing columns):
 *   enc:v1:<key id>:<base64url(12-byte IV | ciphertext | 16-byte tag)>
 * The key id (8 hex characters of a SHA-256 over the key, never the key itself) says which
 * key sealed a value, so a key rotation can keep older keys for reading
 * (`SECRETS_KEY_PREVIOUS`) while everything is re-sealed with the new one. Every value is
 * bound to a *context* (additional authenticated data, e.g. `tenant-token-secret:<id>`): a
 * sealed value copied to another row or file fails authentication instead of being used.
 *
 * A value without the `enc:v1:` prefix is a legacy plaintext secret (generated secrets are
 * base64url and never contain ':'); `open` returns it as it is, so a deployment can turn
 * encryption on and migrate (`npm start` does at start; `ctl secrets:encrypt`).
 *
 * Invariants: nothing here logs or puts a secret in an error message; a value that fails
 * authentication (wrong key, tampered, wrong context) throws SecretBoxError — callers
 * fail closed.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

const PREFIX = "enc:v1:";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export class SecretBoxError extends Error {
  override name = "SecretBoxError";
}

/** True when `value` is in the sealed form (it may still fail to open). */
export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

/**
 * Parses one key: 64 hex characters, or base64 / base64url of exactly 32 bytes. Throws with
 * a message that never repeats the value.
 */
export function parseSecretsKey(text: string, name = "SECRETS_KEY"): Buffer {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, "hex");
  if (/^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(value)) {
    const bytes = Buffer.from(value.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    if (bytes.length === KEY_BYTES) return bytes;
  }
  throw new SecretBoxError(
    `${name} must be 32 random bytes as 64 hex characters or base64/base64url (e.g. the output of \`openssl rand -base64 32\`)`,
  );
}

/** A new random key, base64url (what `npm start` writes to .data/secrets.key). */
export function generateSecretsKey(): string {
  return randomBytes(KEY_BYTES).toString("base64url");
}

function keyId(key: Buffer): string {
  return createHash("sha256").update("origingate-secrets-key-id\0").update(key).digest("hex").slice(0, 8);
}

export class SecretBox {
  private readonly current: { id: string; key: Buffer };
  private readonly byId = new Map<string, Buffer>();

  /** `key` seals and opens; `previous` keys only open (during a key rotation). */
  constructor(key: Buffer, previous: readonly Buffer[] = []) {
    if (key.length !== KEY_BYTES) throw new SecretBoxError("a secrets key is 32 bytes");
    this.current = { id: keyId(key), key };
    for (const k of [key, ...previous]) {
      if (k.length !== KEY_BYTES) throw new SecretBoxError("a secrets key is 32 bytes");
      if (!this.byId.has(keyId(k))) this.byId.set(keyId(k), k);
    }
  }

  /** From SECRETS_KEY and SECRETS_KEY_PREVIOUS (comma-separated) values; null without a key. */
  static fromStrings(key: string | undefined, previous?: string): SecretBox | null {
    if (!key) return null;
    const older = (previous ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => parseSecretsKey(s, "SECRETS_KEY_PREVIOUS"));
    return new SecretBox(parseSecretsKey(key), older);
  }

  /** Id of the key that seals (shown in logs to tell keys apart; not secret). */
  get keyId(): string {
    return this.current.id;
  }

  seal(plaintext: string | Buffer, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.current.key, iv);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return `${PREFIX}${this.current.id}:${Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url")}`;
  }

  /** The plaintext of a sealed value (a legacy plaintext value is returned unchanged). */
  open(value: string, context: string): string {
    if (!isSealed(value)) return value;
    return this.openBytes(value, context).toString("utf8");
  }

  openBytes(value: string, context: string): Buffer {
    if (!isSealed(value)) throw new SecretBoxError("not a sealed value");
    const rest = value.slice(PREFIX.length);
    const colon = rest.indexOf(":");
    const id = colon === -1 ? "" : rest.slice(0, colon);
    const key = this.byId.get(id);
    if (!key) throw new SecretBoxError(`sealed with a key this process does not have (key id ${id || "?"})`);
    const raw = Buffer.from(rest.slice(colon + 1), "base64url");
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretBoxError("sealed value is truncated");
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
    } catch (error) {
      throw new SecretBoxError("sealed value failed authentication (tampered, or another key or context)", {
        cause: error,
      });
    }
  }

  /** True when `value` is sealed with the current key (nothing to re-seal). */
  isCurrent(value: string): boolean {
    return value.startsWith(`${PREFIX}${this.current.id}:`);
  }
}

/** Contexts (additional authenticated data) of each kind of sealed value. */
export const secretContext = {
  tenantTokenSecret: (tenantId: string) => `tenant-token-secret:${tenantId}`,
  setting: (key: string) => `setting:${key}`,
  siemDestinationSecret: (destinationId: string) => `siem-destination-secret:${destinationId}`,
  alertWebhookSecret: (webhookId: string) => `alert-webhook-secret:${webhookId}`,
  policySnapshot: "policy-snapshot:v1",
} as const;
