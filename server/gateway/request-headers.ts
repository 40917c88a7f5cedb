/**
 * Reading request headers the way the gateway needs them: every line of one header, the
 * offered WebSocket subprotocols, and whether a request is a well-formed WebSocket handshake.
 * Shared by the handshake path, forward auth, the HTTP proxy and the admin stream (a leaf
 * module: it imports nothing of the gateway).
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

/** Sec-WebSocket-Key: 16 bytes in base64 (RFC 6455 §4.1). */
const KEY_PATTERN = /^[+/0-9A-Za-z]{22}==$/;

/** A failed check (module level: a closure per call would cost every handshake an allocation and a name). */
function fail(problem: HandshakeProblem): { ok: false; problem: HandshakeProblem } {
  return { ok: false, problem };
}

/** Why a request is not a valid WebSocket handshake, and how a direct refusal answers it. */
export interface HandshakeProblem {
  message: string;
  /** The status a direct handshake is refused with (absent: the reason's own, 400). */
  status?: number;
  headers?: Record<string, string>;
}

/**
 * The protocol checks of a WebSocket handshake (RFC 6455 §4.2.1), in order, the first failing
 * one reported: the method is GET, `Upgrade: websocket`, exactly one well-formed
 * Sec-WebSocket-Key, Sec-WebSocket-Version 13, a well-formed Sec-WebSocket-Protocol. When all
 * pass, the offered subprotocols.
 *
 * The handshake path checks the request itself. Forward auth checks a proxy's subrequest that
 * describes a handshake: `method` is the original request's, `Upgrade` is not required
 * (nginx does not forward it) and a missing version passes (only a wrong one fails).
 */
export function checkHandshake(
  req: IncomingMessage,
  options: { method: string | undefined; subrequest: boolean },
): { ok: true; offered: string[] } | { ok: false; problem: HandshakeProblem } {
  if (options.method !== "GET") {
    return fail({ message: "WebSocket handshakes use GET", status: 405, headers: { Allow: "GET" } });
  }
  if (!options.subrequest && req.headers.upgrade?.toLowerCase() !== "websocket") {
    return fail({ message: "Upgrade must be websocket" });
  }
  const key = headerLines(req, "sec-websocket-key");
  if (key?.length !== 1 || !KEY_PATTERN.test(key[0]!.trim())) {
    return fail({ message: "missing or malformed Sec-WebSocket-Key" });
  }
  const version = req.headers["sec-websocket-version"];
  if (version?.trim() !== "13" && !(options.subrequest && version === undefined)) {
    return fail({
      message: "unsupported WebSocket version (13 is required)",
      status: 426,
      headers: { "Sec-WebSocket-Version": "13" },
    });
  }
  const offered = parseSubprotocols(req);
  if (offered === null) return fail({ message: "malformed Sec-WebSocket-Protocol" });
  return { ok: true, offered };
}
