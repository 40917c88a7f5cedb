/**
 * Structured JSON logs (pino), one line per event. Never log secrets, tokens or cookie
 * values: the redact list below is a last line of defence, not the first.
 *
 * Every field of every line is bounded (SPEC §5 "Untrusted input is bounded"): the `log`
 * formatter clips strings and nested objects (server/clip.ts) before the line is written,
 * so a 3,000-character slug or Origin in a logged field cannot bloat a line or a log store.
 */
import pino, { type DestinationStream, type Logger } from "pino";
import { clipLogFields } from "./clip";

export type { Logger };

export function createLogger(options: {
  level?: string;
  name: string;
  base?: Record<string, unknown>;
  /** Where lines go (stdout by default). */
  destination?: DestinationStream;
}): Logger {
  const settings: pino.LoggerOptions = {
    name: options.name,
    level: options.level ?? "info",
    base: { pid: process.pid, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { log: clipLogFields },
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
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
