/**
 * RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s steps) computed by the tests themselves from an
 * otpauth:// URI, so a second-factor test never trusts the code under test to make its codes.
 * Base32 decoding per RFC 4648.
 */
import { createHmac } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export function base32Decode(input: string): Buffer {
  const clean = input.toUpperCase().replace(/=+$/, "");
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of clean) {
    const index = ALPHABET.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The secret (bytes) of an otpauth://totp/... URI. */
export function secretFromUri(uri: string): Buffer {
  const secret = new URL(uri).searchParams.get("secret");
  if (!secret) throw new Error("no secret in the otpauth URI");
  return base32Decode(secret);
}

export function hotp(secret: Buffer, counter: number, digits = 6): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac("sha1", secret).update(message).digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const binary =
    (((mac[offset] as number) & 0x7f) << 24) |
    ((mac[offset + 1] as number) << 16) |
    ((mac[offset + 2] as number) << 8) |
    (mac[offset + 3] as number);
  return String(binary % 10 ** digits).padStart(digits, "0");
}

export function currentStep(now = Date.now(), period = 30): number {
  return Math.floor(now / 1000 / period);
}

export function totp(secret: Buffer, step = currentStep()): string {
  return hotp(secret, step);
}

/**
 * A code the server accepts now (its own step or one either side) that is not in `used`:
 * the current step's first, then the next, then the previous.
 */
export function freshCode(secret: Buffer, used: Set<string>): string {
  const step = currentStep();
  for (const s of [step, step + 1, step - 1]) {
    const code = totp(secret, s);
    if (!used.has(code)) return code;
  }
  throw new Error("no unused code in the current window");
}
