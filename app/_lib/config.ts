/**
 * The dashboard's configuration: the environment parsed and validated once per process
 * (server/config.ts), then reused by every request. A bad value throws ConfigError with one
 * readable line on first use. Server-only.
 */
import "server-only";
import { type Config, loadConfig } from "../../server/config";

let parsed: Config | undefined;

export function config(): Config {
  parsed ??= loadConfig();
  return parsed;
}
