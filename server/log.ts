/**
 * Structured JSON logs (pino), one line per event. Never log secrets, tokens or cookie
 * values: the redact list below is a last line of defence, not the first.
 */
import pino, { type Logger } from "pino";

export type { Logger };

export function createLogger(options: { level?: string; name: string; base?: Record<string, unknown> }): Logger {
  return pino({
    name: options.name,
    level: options.level ?? "info",
    base: { pid: process.pid, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        "*.cookie",
        "*.authorization",
        "*.tokenSecret",
        "*.token_secret",
        "*.previousTokenSecret",
        "*.previous_token_secret",
        "*.password",
        "headers.cookie",
        "headers.authorization",
        "req.headers.cookie",
        "req.headers.authorization",
      ],
      censor: "[redacted]",
    },
  });
}
