/** The dashboard's structured logger (one per process). Never pass secrets, cookies or tokens. */

import "server-only";
import { config } from "@/server/config";
import { createLogger, type Logger } from "@/server/log";

const holder = globalThis as typeof globalThis & { __origingateLog?: Logger };

export function log(): Logger {
  if (!holder.__origingateLog) {
    let level = "info";
    try {
      level = config().LOG_LEVEL;
    } catch {
      // configuration errors surface elsewhere; logging must still work
    }
    holder.__origingateLog = createLogger({ name: "dashboard", level });
  }
  return holder.__origingateLog;
}
