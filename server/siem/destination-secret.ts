/**
 * A SIEM webhook destination's signing secret as stored in `siem_destination.secret`: sealed
 * with SECRETS_KEY and bound to the destination's id, or plaintext when the deployment has
 * no key. The dashboard seals when it registers or rotates; the gateway opens when it loads
 * destinations (siem-exporter.ts).
 */
import { isSealed, type SecretBox, secretContext } from "../secrets/secret-box";

export function sealDestinationSecret(secrets: SecretBox | null, destinationId: string, secret: string): string {
  return secrets ? secrets.seal(secret, secretContext.siemDestinationSecret(destinationId)) : secret;
}

/** The secret in the clear; throws when it is sealed and cannot be opened. */
export function openDestinationSecret(secrets: SecretBox | null, destinationId: string, stored: string): string {
  if (!isSealed(stored)) return stored;
  if (!secrets) throw new Error("the signing secret is encrypted and this process has no SECRETS_KEY");
  return secrets.open(stored, secretContext.siemDestinationSecret(destinationId));
}
