/**
 * The few WebSocket frames the tester reads after an upgrade: whole server frames from the
 * start of a buffer (it only looks for the server's close), and the masked close frame it
 * sends itself (RFC 6455 §5.2, §5.5.1).
 */
import { randomBytes } from "node:crypto";

export interface Frame {
  opcode: number;
  payload: Buffer;
  /** Bytes the whole frame occupies. */
  length: number;
}

/**
 * One complete frame from the start of `buffer`, or null when more bytes are needed. A
 * declared payload longer than `maxPayload` is read as `maxPayload` bytes (the tester never
 * waits for more than it scans).
 */
export function readFrame(buffer: Buffer, maxPayload: number): Frame | null {
  if (buffer.length < 2) return null;
  const opcode = buffer[0]! & 0x0f;
  const masked = (buffer[1]! & 0x80) !== 0;
  let length = buffer[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return null;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return null;
    const big = buffer.readBigUInt64BE(2);
    length = big > BigInt(maxPayload) ? maxPayload : Number(big);
    offset = 10;
  }
  if (masked) offset += 4;
  if (buffer.length < offset + length) return null;
  let payload = buffer.subarray(offset, offset + length);
  if (masked) {
    const mask = buffer.subarray(offset - 4, offset);
    payload = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  }
  return { opcode, payload, length: offset + length };
}

export function closeOf(payload: Buffer): { code: number; reason: string } {
  if (payload.length < 2) return { code: 1005, reason: "" };
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2, 2 + 123).toString("utf8") };
}

/** A client's close frame: masked, as RFC 6455 requires of clients, with `code` and no reason. */
export function maskedCloseFrame(code: number): Buffer {
  const mask = randomBytes(4);
  const payload = Buffer.from([code >> 8, code & 0xff]);
  return Buffer.concat([
    Buffer.from([0x88, 0x80 | payload.length]),
    mask,
    Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!)),
  ]);
}
