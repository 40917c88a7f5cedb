/**
 * Where each process gets its SecretBox (server/secrets/secret-box.ts) from: `SECRETS_KEY`
 * (+ `SECRETS_KEY_PREVIOUS` during a key rotation), validated by server/config.ts.
 * `npm start` and `ctl` may also use the key file of `.data/` (secrets-key-file.ts; kept
 * apart because the dashboard must not trace the filesystem).
 * Without a key nothing is encrypted: new secrets are stored in plaintext, sealed ones
 * cannot be read (tokens of such tenants fail closed), and gateways keep no snapshot.
 */
import { type Config, loadConfig } from "../config";
import { SecretBox } from "./secret-box";

/** The box of a configuration (null when it has no key). */
export function secretBoxFromConfig(config: Pick<Config, "SECRETS_KEY" | "SECRETS_KEY_PREVIOUS">): SecretBox | null {
  return SecretBox.fromStrings(config.SECRETS_KEY, config.SECRETS_KEY_PREVIOUS);
}

const cache = { source: "", box: null as SecretBox | null };

/**
 * The dashboard's box, from the environment as it is now (tests set SECRETS_KEY per run);
 * rebuilt only when the key strings change.
 */
export function configuredSecretBox(env: NodeJS.ProcessEnv = process.env): SecretBox | null {
  const source = `${env.SECRETS_KEY ?? ""}\n${env.SECRETS_KEY_PREVIOUS ?? ""}`;
  if (source !== cache.source) {
    // Validated as server/config.ts does (a bad key throws with the variable's name).
    cache.box = secretBoxFromConfig(loadConfig(env));
    cache.source = source;
  }
  return cache.box;
}
