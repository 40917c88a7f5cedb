/**
 * The key file of `npm start` (command-line processes only; the dashboard never reads it):
 * with no `SECRETS_KEY`, `npm start` generates a key once into `.data/secrets.key` (mode
 * 0600) and hands it to its children through the environment; `ctl` uses that file when
 * `SECRETS_KEY` is unset.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Config } from "../config";
import { DATA_DIR } from "../data-dir";
import { generateSecretsKey, parseSecretsKey, SecretBox } from "./secret-box";
import { secretBoxFromConfig } from "./secrets-key";

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

/** For `ctl`: SECRETS_KEY, else the key `npm start` generated, else null. */
export function secretBoxForCli(config: Pick<Config, "SECRETS_KEY" | "SECRETS_KEY_PREVIOUS">): SecretBox | null {
  if (config.SECRETS_KEY) return secretBoxFromConfig(config);
  if (!existsSync(SECRETS_KEY_FILE)) return null;
  return SecretBox.fromStrings(readFileSync(SECRETS_KEY_FILE, "utf8").trim(), config.SECRETS_KEY_PREVIOUS);
}
