/**
 * The one way a handshake is refused: an HTTP response on the raw socket, before any
 * upgrade, then the socket is closed. Modelled on `abortHandshake` in websockets/ws
 * lib/websocket-server.js. Every rejection in the gateway goes through here so the status,
 * the `X-OriginGate-Reason` header and the connection handling are the same everywhere.
 */
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";

export const REASON_HEADER = "X-OriginGate-Reason";

export function abortHandshake(
  socket: Duplex,
  status: number,
  reason: string,
  message?: string,
  headers: Record<string, string> = {},
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${message ?? STATUS_CODES[status] ?? "Rejected"}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Rejected"}`,
    "Connection: close",
    "Content-Type: text/plain; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Cache-Control: no-store",
    `${REASON_HEADER}: ${reason}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.once("finish", () => socket.destroy());
  socket.end(`${lines.join("\r\n")}\r\n\r\n${body}`);
}
