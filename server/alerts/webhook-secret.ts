/**
 * An alert webhook's signing secret as stored in `alert_webhook.secret`: sealed with
 * SECRETS_KEY and bound to the webhook's id (like SIEM destinations,
 * server/siem/destination-secret.ts), or plaintext when the deployment has no key.
 */
import { isSealed, type SecretBox, secretContext } from "../secrets/secret-box";

export function sealWebhookSecret(secrets: SecretBox | null, webhookId: string, secret: string): string {
  return secrets ? secrets.seal(secret, secretContext.alertWebhookSecret(webhookId)) : secret;
}

/** The secret in the clear; throws when it is sealed and cannot be opened. */
export function openWebhookSecret(secrets: SecretBox | null, webhookId: string, stored: string): string {
  if (!isSealed(stored)) return stored;
  if (!secrets) throw new Error("the signing secret is encrypted and this process has no SECRETS_KEY");
  return secrets.open(stored, secretContext.alertWebhookSecret(webhookId));
}
