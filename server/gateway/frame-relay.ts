/**
 * The proxy-mode relay: bytes move between the client's socket and the upstream's socket
 * as they are, frame headers read on the way (issue 19). Nothing is unmasked, decoded or
 * re-encoded: the client's frames are masked (as the upstream, a server, expects them) and
 * the upstream's are not (as the client expects them), so both streams are already what
 * the other side must receive.
 *
 * What the streaming header reader (Direction) enforces, as `ws` did on the old path:
 *   - `maxMessageBytes`: the payload lengths of a data message's frames (first frame and
 *     continuations) are added up from the headers alone; a frame that would pass the
 *     limit is never forwarded: 1009 to its sender, 1011 "peer error" to the other side;
 *   - framing: reserved bits (no extension is negotiated), known opcodes, masking by the
 *     client and none by the upstream, control frames final and ≤ 125 bytes, continuation
 *     only inside a message: a violation is 1002 to its sender, 1011 to the other side.
 * Control frames may come between the fragments of a message (RFC 6455 §5.4); they pass
 * through. A header split across TCP reads is held back until complete, so the other side
 * only ever receives whole headers and the gateway can stop at any frame boundary.
 * Text is not validated as UTF-8 here (the receiving endpoint does that, and answers 1007).
 *
 * The gateway's own frames (its close frames, and the heartbeat ping toward the client)
 * are written only at a frame boundary of the stream they join: queued while a frame is
 * half through, written as soon as it ends. A close frame ends its stream: what the source
 * sends after it is read (to see the peer's close) but no longer forwarded.
 *
 * Close handshake: a close frame from one side is forwarded to the other, whose answer
 * comes back the same way. Once the client has both sent and received a close frame, the
 * gateway (its server) ends the client's TCP connection; likewise toward the upstream. A
 * peer whose TCP connection ends without a close frame gets the other side closed with
 * 1011 (as the old relay did for 1006) when that stream is at a frame boundary, or cut
 * otherwise. A close that does not complete within CLOSE_TIMEOUT_MS ends in a cut.
 *
 * Heartbeat: the gateway pings the client (connections.ts sweeps); every byte from the
 * client counts as a sign of life. Pings of either peer pass through to the other, and so
 * do their pongs (the client's answer to the gateway's ping reaches the upstream as an
 * unsolicited pong, which RFC 6455 §5.5.3 allows and endpoints ignore).
 *
 * Backpressure: a write the destination socket does not take at once pauses the source
 * socket until 'drain' (TCP flow control then pushes back on the sender), so a relay
 * holds at most about one read per direction whatever the speeds of the two peers.
 */
import { randomFillSync } from "node:crypto";
import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import type { Connection } from "./connections";

export const CLOSE_TIMEOUT_MS = 10_000;

const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

/** RFC 6455 §7.4.1 */
const PROTOCOL_ERROR = 1002;
const MESSAGE_TOO_BIG = 1009;
const INTERNAL_ERROR = 1011;

/** A close frame with `code` and `reason` (≤ 123 bytes), masked when it goes to the upstream. */
export function closeFrame(code: number, reason: string | Buffer, masked: boolean): Buffer {
  const text = typeof reason === "string" ? Buffer.from(reason) : reason;
  const payload = Buffer.alloc(2 + Math.min(text.length, 123));
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2, 0, payload.length - 2);
  return controlFrame(OP_CLOSE, payload, masked);
}

function controlFrame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  const frame = Buffer.alloc(2 + (masked ? 4 : 0) + payload.length);
  frame[0] = 0x80 | opcode;
  frame[1] = (masked ? 0x80 : 0) | payload.length;
  if (!masked) {
    payload.copy(frame, 2);
    return frame;
  }
  const mask = frame.subarray(2, 6);
  randomFillSync(mask);
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}

/** The gateway's heartbeat ping toward the client (server to client: unmasked, empty). */
const PING_TO_CLIENT = Buffer.from([0x80 | OP_PING, 0]);

/**
 * One side of a raw relay as connections.ts sees it: the subset of a `ws` WebSocket it
 * uses (readyState, close, terminate, ping, the `close` event with the client's close
 * code), so the registry treats proxied and echo connections alike.
 */
export class RawPeer extends EventEmitter {
  connection: Connection | null = null;

  constructor(
    readonly relay: RawRelay,
    private readonly isClient: boolean,
  ) {
    super();
  }

  get readyState(): number {
    return this.relay.stateOf(this.isClient);
  }

  /** The gateway closes this peer: a close frame at the next frame boundary. */
  close(code = 1000, reason: string | Buffer = ""): void {
    this.relay.closePeer(this.isClient, code, reason);
  }

  /** Cuts this peer's TCP connection at once. */
  terminate(): void {
    (this.isClient ? this.relay.client : this.relay.upstream).destroy();
  }

  ping(): void {
    if (this.isClient) this.relay.toClient.inject(PING_TO_CLIENT, false);
  }
}

/** One direction of the relay: `source`'s bytes, read frame by frame, written to `dest`. */
class Direction {
  /** Header bytes of the frame being read (a header can span TCP reads). */
  private readonly header = Buffer.alloc(14);
  private headerHave = 0;
  /** Payload bytes of the current frame still to come; 0 at a frame boundary. */
  private payloadLeft = 0;
  /** Whether the current frame is forwarded (false once `dest` got a close frame). */
  private forwarding = true;
  /** A close frame's payload, captured to read its code (null for other frames). */
  private closePayload: Buffer | null = null;
  private closeHave = 0;
  private closeMask = 0;
  /** A data message is in progress (its first frame was not final). */
  private inMessage = false;
  /** Payload bytes of the data message in progress. */
  private messageBytes = 0;
  /** Frames of the gateway waiting for a frame boundary. */
  private queued: Buffer[] = [];
  /** A close frame was written to `dest`: nothing is forwarded after it. */
  ended = false;
  /** `source` sent its close frame (or broke the protocol): its further bytes are dropped. */
  sourceDone = false;
  /** Code and reason of `source`'s close frame (1005: none in it). */
  closeCode: number | null = null;
  closeReason: Buffer = Buffer.alloc(0);
  /** End `dest`'s TCP connection as soon as the queued close frame is written. */
  private endAfterClose = false;
  /** `source` is paused until `dest` drains (backpressure). */
  private waitingForDrain = false;

  constructor(
    private readonly relay: RawRelay,
    readonly source: Duplex,
    readonly dest: Duplex,
    /** Frames in this direction come from the client (must be masked). */
    private readonly fromClient: boolean,
    private readonly maxMessageBytes: number,
  ) {}

  /** Reading `source` is paused until `dest` takes what is queued on it (backpressure; tests, diagnostics). */
  get paused(): boolean {
    return this.waitingForDrain;
  }

  /** Bytes this direction queued on `dest` that its socket has not yet handed to the kernel (tests, diagnostics). */
  get buffered(): number {
    return this.dest.writableLength;
  }

  /** `dest` received part of a frame whose rest is still to come (not at a frame boundary). */
  get midFrame(): boolean {
    return this.forwarding && this.payloadLeft > 0;
  }

  /**
   * Reads `chunk` from `source`: forwards whole frames (and parts of the current one).
   * True when some of its bytes are still referenced afterwards (queued toward `dest`).
   */
  push(chunk: Buffer): boolean {
    this.scan(chunk);
    return this.dest.writableLength > 0;
  }

  private scan(chunk: Buffer): void {
    if (this.sourceDone) return;
    const n = chunk.length;
    let pos = 0;
    /** Start of the bytes of `chunk` still to forward. */
    let start = 0;
    while (pos < n) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, n - pos);
        if (this.closePayload) {
          chunk.copy(this.closePayload, this.closeHave, pos, pos + take);
          this.closeHave += take;
        }
        pos += take;
        this.payloadLeft -= take;
        if (!this.forwarding) start = pos;
        if (this.payloadLeft === 0) {
          if (pos > start) this.write(chunk.subarray(start, pos));
          start = pos;
          this.frameEnd();
          if (this.sourceDone) return;
        }
        continue;
      }
      // A header: whole in this chunk, or completed from the bytes held back.
      const headerStart = pos;
      const carried = this.headerHave;
      while (this.headerHave < 2 && pos < n) this.header[this.headerHave++] = chunk[pos++]!;
      const total = this.headerHave >= 2 ? headerLength(this.header) : 14;
      while (this.headerHave < total && pos < n) this.header[this.headerHave++] = chunk[pos++]!;
      if (this.headerHave < total) {
        // The rest of the header comes with the next read: forward what precedes it.
        if (headerStart > start) this.write(chunk.subarray(start, headerStart));
        return;
      }
      this.headerHave = 0;
      const problem = this.readHeader(total);
      if (problem !== 0) {
        if (headerStart > start) this.write(chunk.subarray(start, headerStart));
        this.relay.violation(this, problem);
        return;
      }
      if (!this.forwarding || carried > 0) {
        // Not forwarded, or split across reads: what precedes it goes now, then (when
        // forwarded) a copy of the whole header, and the chunk resumes after it.
        if (headerStart > start) this.write(chunk.subarray(start, headerStart));
        if (this.forwarding) this.write(Buffer.from(this.header.subarray(0, total)));
        start = pos;
      }
      if (this.payloadLeft === 0) {
        if (pos > start) this.write(chunk.subarray(start, pos));
        start = pos;
        this.frameEnd();
        if (this.sourceDone) return;
      }
    }
    if (pos > start) this.write(chunk.subarray(start, pos));
  }

  /** Reads the complete header in `this.header`: 0, or the close code of what is wrong. */
  private readHeader(total: number): number {
    const b0 = this.header[0]!;
    const b1 = this.header[1]!;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    if ((b0 & 0x70) !== 0) return PROTOCOL_ERROR; // no extension is negotiated
    if (masked !== this.fromClient) return PROTOCOL_ERROR;
    let length = b1 & 0x7f;
    if (length === 126) length = this.header.readUInt16BE(2);
    else if (length === 127) {
      const high = this.header.readUInt32BE(2);
      // More than 2^53 - 1 cannot even be counted; no limit allows it anyway.
      if (high > 0x1fffff) return MESSAGE_TOO_BIG;
      length = high * 2 ** 32 + this.header.readUInt32BE(6);
    }
    if (opcode >= OP_CLOSE) {
      if (opcode !== OP_CLOSE && opcode !== OP_PING && opcode !== OP_PONG) return PROTOCOL_ERROR;
      if (!fin || length > 125) return PROTOCOL_ERROR;
      if (opcode === OP_CLOSE) {
        this.closePayload = Buffer.alloc(length);
        this.closeHave = 0;
        this.closeMask = masked ? this.header.readUInt32BE(total - 4) : 0;
      }
    } else {
      if (opcode === OP_CONTINUATION) {
        if (!this.inMessage) return PROTOCOL_ERROR;
      } else if (opcode === OP_TEXT || opcode === OP_BINARY) {
        if (this.inMessage) return PROTOCOL_ERROR;
        this.messageBytes = 0;
      } else {
        return PROTOCOL_ERROR;
      }
      this.messageBytes += length;
      if (this.messageBytes > this.maxMessageBytes) return MESSAGE_TOO_BIG;
      this.inMessage = !fin;
    }
    this.payloadLeft = length;
    this.forwarding = !this.ended;
    return 0;
  }

  /** The current frame is complete (and forwarded): a close frame ends the source; queued frames go. */
  private frameEnd(): void {
    const close = this.closePayload;
    if (close) {
      this.closePayload = null;
      if (this.closeMask !== 0) {
        for (let i = 0; i < close.length; i++) close[i]! ^= (this.closeMask >>> ((3 - (i & 3)) * 8)) & 0xff;
      }
      this.closeCode = close.length >= 2 ? close.readUInt16BE(0) : 1005;
      this.closeReason = close.subarray(2);
      this.sourceDone = true;
      if (this.forwarding) this.ended = true;
      this.relay.closeSeen();
    }
    this.flush();
  }

  /**
   * Writes a frame of the gateway into this stream now (at a frame boundary) or as soon
   * as the current frame ends. A close frame ends the stream; `endAfter` also ends `dest`'s
   * TCP connection once it is written.
   */
  inject(frame: Buffer, isClose: boolean, endAfter = false): void {
    if (this.ended) return;
    if (isClose) {
      this.ended = true; // nothing forwarded after it, from now on
      this.endAfterClose = endAfter;
    }
    this.queued.push(frame);
    if (!this.midFrame) this.flush();
  }

  private flush(): void {
    if (this.queued.length === 0) return;
    const frames = this.queued;
    this.queued = [];
    for (const frame of frames) this.write(frame);
    if (this.endAfterClose) endOnce(this.dest);
    this.relay.closeSeen();
  }

  private write(bytes: Buffer): void {
    if (this.dest.destroyed || !this.dest.writable) return;
    if (!this.dest.write(bytes) && !this.waitingForDrain) {
      this.waitingForDrain = true;
      this.source.pause();
      this.dest.once("drain", () => {
        this.waitingForDrain = false;
        this.source.resume();
      });
    }
  }
}

/** Ends our side of `socket` unless it is already ended (a second end() builds an error object). */
function endOnce(socket: Duplex): void {
  if (!socket.writableEnded && !socket.destroyed) socket.end();
}

/** Length of a frame header from its first two bytes. */
function headerLength(header: Buffer): number {
  const b1 = header[1]!;
  const len = b1 & 0x7f;
  return 2 + (len === 126 ? 2 : len === 127 ? 8 : 0) + ((b1 & 0x80) !== 0 ? 4 : 0);
}

/**
 * One proxied connection after both handshakes: the client's socket (the gateway is its
 * server) and the upstream's (the gateway is its client).
 */
export class RawRelay {
  readonly clientPeer: RawPeer;
  readonly upstreamPeer: RawPeer;
  /** Upstream → client. */
  readonly toClient: Direction;
  /** Client → upstream. */
  readonly toUpstream: Direction;
  private clientClosed = false;
  private upstreamClosed = false;
  private clientEnded = false;
  private upstreamEnded = false;
  /** The client's close code when the gateway broke off on its behalf (1009, 1002), as ws reported it. */
  private clientCodeOverride: number | null = null;
  private closeTimer: NodeJS.Timeout | null = null;
  private started = false;

  constructor(
    readonly client: Duplex,
    readonly upstream: Duplex,
    maxMessageBytes: number,
    /** Bytes the client sent after its handshake, and the upstream after its 101. */
    private readonly clientHead: Buffer,
    private readonly upstreamHead: Buffer,
    /** Subscribes to the upstream's bytes (raw-upstream.ts reads them into a reused buffer). */
    private readonly readUpstream: (onChunk: (chunk: Buffer) => boolean) => void = (onChunk) =>
      upstream.on("data", onChunk),
  ) {
    this.clientPeer = new RawPeer(this, true);
    this.upstreamPeer = new RawPeer(this, false);
    this.toClient = new Direction(this, upstream, client, false, maxMessageBytes);
    this.toUpstream = new Direction(this, client, upstream, true, maxMessageBytes);
  }

  /** Starts moving bytes (once connections.ts tracks the client peer). */
  start(): void {
    if (this.started) return;
    this.started = true;
    const { client, upstream } = this;
    client.on("data", (chunk: Buffer) => {
      const c = this.clientPeer.connection;
      if (c) c.lastSeenAt = Date.now();
      this.toUpstream.push(chunk);
    });
    this.readUpstream((chunk) => this.toClient.push(chunk));
    // A peer that ends its side is done sending: finish ours (its close follows).
    client.on("end", () => endOnce(client));
    upstream.on("end", () => endOnce(upstream));
    client.on("error", (error: Error) => this.logError("client", error));
    upstream.on("error", (error: Error) => this.logError("upstream", error));
    client.once("close", () => this.onSocketClose(true));
    upstream.once("close", () => this.onSocketClose(false));
    if (this.clientHead.length > 0) this.toUpstream.push(this.clientHead);
    if (this.upstreamHead.length > 0) this.toClient.push(this.upstreamHead);
    client.resume();
    upstream.resume();
    if (client.destroyed) this.onSocketClose(true);
    if (upstream.destroyed) this.onSocketClose(false);
  }

  /** Both handshakes are done when a relay exists: OPEN until a close frame went either way. */
  stateOf(isClient: boolean): number {
    if (isClient ? this.clientClosed : this.upstreamClosed) return CLOSED;
    const toPeer = isClient ? this.toClient : this.toUpstream;
    const fromPeer = isClient ? this.toUpstream : this.toClient;
    return toPeer.ended || fromPeer.sourceDone ? CLOSING : OPEN;
  }

  /** The gateway closes one peer (a policy revocation, a drain): a close frame at a frame boundary. */
  closePeer(isClient: boolean, code: number, reason: string | Buffer): void {
    (isClient ? this.toClient : this.toUpstream).inject(closeFrame(code, reason, !isClient), true);
    this.armCloseTimer();
  }

  /** `d`'s source broke the protocol or the size limit: `code` to it, 1011 to the other side. */
  violation(d: Direction, code: number): void {
    d.sourceDone = true;
    const fromClient = d === this.toUpstream;
    if (fromClient) this.clientCodeOverride = code;
    // ws's behaviour: the offender gets its close frame and its connection ended at once.
    const back = fromClient ? this.toClient : this.toUpstream;
    back.inject(closeFrame(code, "", !fromClient), true, true);
    d.inject(closeFrame(INTERNAL_ERROR, "peer error", fromClient), true);
    this.armCloseTimer();
  }

  /** A close frame went one way: end a peer's TCP connection once it both sent and got one. */
  closeSeen(): void {
    this.armCloseTimer();
    if (!this.clientEnded && this.toUpstream.sourceDone && this.toClient.ended && !this.toClient.midFrame) {
      this.clientEnded = true;
      endOnce(this.client);
    }
    if (!this.upstreamEnded && this.toClient.sourceDone && this.toUpstream.ended && !this.toUpstream.midFrame) {
      this.upstreamEnded = true;
      endOnce(this.upstream);
    }
  }

  private armCloseTimer(): void {
    if (this.closeTimer) return;
    this.closeTimer = setTimeout(() => {
      this.client.destroy();
      this.upstream.destroy();
    }, CLOSE_TIMEOUT_MS);
    this.closeTimer.unref();
  }

  private onSocketClose(isClient: boolean): void {
    if (isClient ? this.clientClosed : this.upstreamClosed) return;
    if (isClient) this.clientClosed = true;
    else this.upstreamClosed = true;
    // The other side: closed with 1011 at a frame boundary (as ws did for a 1006), else cut.
    const toOther = isClient ? this.toUpstream : this.toClient;
    const other = isClient ? this.upstream : this.client;
    const otherClosed = isClient ? this.upstreamClosed : this.clientClosed;
    if (!otherClosed) {
      if (!toOther.ended && !toOther.midFrame) {
        toOther.inject(closeFrame(INTERNAL_ERROR, "", isClient), true);
        this.armCloseTimer();
      } else if (toOther.midFrame) {
        other.destroy();
      }
    }
    if (isClient) {
      const fromClient = this.toUpstream;
      const code = this.clientCodeOverride ?? (fromClient.closeCode !== null ? fromClient.closeCode : 1006);
      this.clientPeer.emit("close", code, fromClient.closeCode !== null ? fromClient.closeReason : Buffer.alloc(0));
    } else {
      this.upstreamPeer.emit("close", this.toClient.closeCode ?? 1006, this.toClient.closeReason);
    }
    if (this.clientClosed && this.upstreamClosed && this.closeTimer) {
      clearTimeout(this.closeTimer);
      this.closeTimer = null;
    }
  }

  private logError(side: string, error: Error): void {
    this.clientPeer.connection?.registry.logger.debug({ side, err: error.message }, "relay error");
  }
}
