/**
 * Secrets at rest (server/secrets/secret-box.ts): AES-256-GCM round trips, binding to a
 * context, tamper detection, key ids and rotation with previous keys, key parsing, legacy
 * plaintext passing through.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  generateSecretsKey,
  isSealed,
  parseSecretsKey,
  SecretBox,
  SecretBoxError,
} from "../../server/secrets/secret-box";

const key = () => randomBytes(32);

describe("SecretBox", () => {
  it("seals to a form that does not contain the plaintext and opens it back", () => {
    const box = new SecretBox(key());
    const sealed = box.seal("s3cret-value", "ctx");
    expect(sealed).toMatch(/^enc:v1:[0-9a-f]{8}:[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain("s3cret-value");
    expect(box.open(sealed, "ctx")).toBe("s3cret-value");
    expect(box.seal("s3cret-value", "ctx")).not.toBe(sealed); // a fresh IV each time
  });

  it("refuses another context, another key, and any flipped byte", () => {
    const box = new SecretBox(key());
    const sealed = box.seal("value", "tenant-token-secret:a");
    expect(() => box.open(sealed, "tenant-token-secret:b")).toThrow(SecretBoxError);
    expect(() => new SecretBox(key()).open(sealed, "tenant-token-secret:a")).toThrow(/key this process does not have/);
    const raw = Buffer.from(sealed.split(":")[3]!, "base64url");
    for (const i of [0, 12, raw.length - 1]) {
      const flipped = Buffer.from(raw);
      flipped[i]! ^= 1;
      const tampered = `${sealed.split(":").slice(0, 3).join(":")}:${flipped.toString("base64url")}`;
      expect(() => box.open(tampered, "tenant-token-secret:a")).toThrow(/failed authentication/);
    }
    expect(() => box.open("enc:v1:zz:AAAA", "x")).toThrow(SecretBoxError);
  });

  it("opens values of previous keys but seals with the current one (key rotation)", () => {
    const older = key();
    const sealedOld = new SecretBox(older).seal("v", "c");
    const rotated = new SecretBox(key(), [older]);
    expect(rotated.open(sealedOld, "c")).toBe("v");
    expect(rotated.isCurrent(sealedOld)).toBe(false);
    expect(rotated.isCurrent(rotated.seal("v", "c"))).toBe(true);
  });

  it("passes legacy plaintext through open, and tells sealed values apart", () => {
    const box = new SecretBox(key());
    expect(box.open("plain-base64url_secret", "c")).toBe("plain-base64url_secret");
    expect(isSealed("plain")).toBe(false);
    expect(isSealed(box.seal("x", "c"))).toBe(true);
  });

  it("parses keys as hex, base64 or base64url of 32 bytes, and nothing else", () => {
    const bytes = key();
    expect(parseSecretsKey(bytes.toString("hex"))).toEqual(bytes);
    expect(parseSecretsKey(bytes.toString("base64"))).toEqual(bytes);
    expect(parseSecretsKey(bytes.toString("base64url"))).toEqual(bytes);
    expect(parseSecretsKey(generateSecretsKey())).toHaveLength(32);
    for (const bad of ["", "short", randomBytes(16).toString("hex"), randomBytes(33).toString("base64")]) {
      expect(() => parseSecretsKey(bad)).toThrow(/SECRETS_KEY must be 32 random bytes/);
    }
    expect(() => parseSecretsKey("x".repeat(10))).not.toThrow(/xxxxxxxxxx/);
    expect(SecretBox.fromStrings(undefined)).toBeNull();
    expect(SecretBox.fromStrings(generateSecretsKey(), ` ${generateSecretsKey()} , `)).toBeInstanceOf(SecretBox);
  });
});
