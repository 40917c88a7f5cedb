/**
 * A tenant's token secret as stored in `tenant.token_secret` / `previous_token_secret`:
 * sealed with SECRETS_KEY and bound to the tenant's id (both columns share the context, so a
 * rotation moves the stored value from one column to the other without opening it), or
 * plaintext when the deployment has no key. The dashboard seals on create and rotate; the
 * gateway opens when it loads policies (server/policy-store/policy-store.ts).
 */
import { isSealed, type SecretBox, secretContext } from "./secret-box";

export function sealTokenSecret(secrets: SecretBox | null, tenantId: string, secret: string): string {
  return secrets ? secrets.seal(secret, secretContext.tenantTokenSecret(tenantId)) : secret;
}

/** The secret in the clear; throws when it is sealed and cannot be opened. */
export function openTokenSecret(secrets: SecretBox | null, tenantId: string, stored: string): string {
  if (!isSealed(stored)) return stored;
  if (!secrets) throw new Error("the token secret is encrypted and this process has no SECRETS_KEY");
  return secrets.open(stored, secretContext.tenantTokenSecret(tenantId));
}
