/**
 * API token format: `og_` + 32 random bytes in base64url (43 characters). Only the SHA-256
 * (hex) is stored; the first characters are kept as `prefix` to recognise a token in lists.
 */
import "server-only";
import { createHash, randomBytes } from "node:crypto";

export const API_TOKEN_PREFIX = "og_";
const TOKEN_SHAPE = /^og_[A-Za-z0-9_-]{43}$/;

export function newApiToken(): { token: string; prefix: string; tokenHash: string } {
  const token = `${API_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
  return { token, prefix: token.slice(0, 10), tokenHash: hashApiToken(token) };
}

export function hashApiToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function looksLikeApiToken(value: string): boolean {
  return TOKEN_SHAPE.test(value);
}
