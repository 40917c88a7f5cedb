/**
 * Reading request headers the way the gateway needs them: every line of one header, and
 * the offered WebSocket subprotocols. Shared by the handshake path, forward auth, the HTTP
 * proxy and the admin stream (a leaf module: it imports nothing of the gateway).
 */
import type { IncomingMessage } from "node:http";
import { HTTP_TOKEN } from "../policy";

/**
 * Every line of request header `name` (given in lower case), in order; undefined when
 * absent. Reads `rawHeaders` directly: `req.headersDistinct` would build the line list of
 * every header of the request on each handshake, for the two this module needs.
 */
export function headerLines(req: IncomingMessage, name: string): string[] | undefined {
  const raw = req.rawHeaders;
  let lines: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length !== name.length || key.toLowerCase() !== name) continue;
    if (lines) lines.push(raw[i + 1]!);
    else lines = [raw[i + 1]!];
  }
  return lines;
}

/** Parses `Sec-WebSocket-Protocol` (all header lines); null when malformed. */
export function parseSubprotocols(req: IncomingMessage): string[] | null {
  const lines = headerLines(req, "sec-websocket-protocol");
  if (!lines) return [];
  const offered: string[] = [];
  for (const line of lines) {
    for (const part of line.split(",")) {
      const name = part.trim();
      if (!HTTP_TOKEN.test(name) || offered.includes(name)) return null;
      offered.push(name);
    }
  }
  return offered;
}
