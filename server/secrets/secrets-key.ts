/**
 * Where each process gets its SecretBox (server/secrets/secret-box.ts) from.
 *
 * - Every process: `SECRETS_KEY` (+ `SECRETS_KEY_PREVIOUS` during a key rotation), validated
 *   by server/config.ts.
 * - `npm start` with no `SECRETS_KEY`: a key generated once into `.data/secrets.key` (mode
 *   0600) and handed to its children through the environment (ensureSecretsKeyFile).
 * - `ctl` with no `SECRETS_KEY`: that same file when it exists (next to a running or past
 *   `npm start`).
 * Without a key nothing is encrypted: new secrets are stored in plaintext, sealed ones
 * cannot be read (tokens of such tenants fail closed), and gateways keep no snapshot.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type Config, loadConfig } from "../config";
import { DATA_DIR } from "../data-dir";
import { generateSecretsKey, parseSecretsKey, SecretBox } from "./secret-box";

export const SECRETS_KEY_FILE = path.join(DATA_DIR, "secrets.key");

/** The key in `file`, generated (0600, never overwritten) when the file does not exist. */
export function ensureSecretsKeyFile(file = SECRETS_KEY_FILE): { key: string; generated: boolean } {
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    const key = generateSecretsKey();
    writeFileSync(file, `${key}\n`, { flag: "wx", mode: 0o600 });
    return { key, generated: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const key = readFileSync(file, "utf8").trim();
  parseSecretsKey(key, file);
  return { key, generated: false };
}

/** The box of a configuration (null when it has no key). */
export function secretBoxFromConfig(config: Pick<Config, "SECRETS_KEY" | "SECRETS_KEY_PREVIOUS">): SecretBox | null {
  return SecretBox.fromStrings(config.SECRETS_KEY, config.SECRETS_KEY_PREVIOUS);
}

/** For `ctl`: SECRETS_KEY, else the key `npm start` generated, else null. */
export function secretBoxForCli(config: Pick<Config, "SECRETS_KEY" | "SECRETS_KEY_PREVIOUS">): SecretBox | null {
  if (config.SECRETS_KEY) return secretBoxFromConfig(config);
  if (!existsSync(SECRETS_KEY_FILE)) return null;
  return SecretBox.fromStrings(readFileSync(SECRETS_KEY_FILE, "utf8").trim(), config.SECRETS_KEY_PREVIOUS);
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
