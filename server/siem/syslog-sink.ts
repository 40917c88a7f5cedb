/**
 * A syslog destination: RFC 5424 messages over TCP with RFC 6587 octet counting
 * (syslog-format.ts), to `tcp://host:port`.
 *
 * Delivery is at-least-once as far as plain TCP allows. Plain syslog over TCP has no
 * acknowledgement: data the kernel accepted can still be lost when the connection breaks
 * (the receiver restarting, a reset). So a message written on a connection is only counted
 * delivered once the connection has stayed up CONFIRM_MS after the write; when the
 * connection ends or fails, every message written on it within CONFIRM_MS is queued again
 * and resent on the next connection (counted in origingate_siem_events_resent_total). A
 * receiver may therefore see an event twice — the MSGID is the event id, so it can keep one.
 * A receiver that accepts data and then loses it more than CONFIRM_MS later is beyond what
 * plain TCP syslog can detect (the webhook sink is acknowledged per request).
 *
 * Addresses (SPEC §5.2, like the tester's endpoints): a host registered as an IP literal is
 * connected to as registered (internal addresses included — registering the literal is how
 * an admin means it); a name is resolved at every connection and refused when any answer is
 * internal, then connected to at the address checked (server/net/pinned-lookup.ts), so a
 * DNS rebinding cannot point the export at a loopback or private service.
 */
import net from "node:net";
import { type PinnedHost, pinHost, type Resolver, systemResolver } from "../net/pinned-lookup";
import type { ExportedEvent } from "./exported-event";
import { type SiemDestinationConfig, SiemSink, type SinkOptions } from "./siem-sink";
import { octetFrame, syslogGapMessage, syslogMessage } from "./syslog-format";

/** How long a connection must outlive a write before the write counts as delivered. */
export const CONFIRM_MS = 2000;
const CONNECT_TIMEOUT_MS = 10_000;

/** A message written on the current connection, not yet confirmed. */
interface Written {
  message: string;
  events: number;
  at: number;
}

export class SyslogSink extends SiemSink {
  private socket: net.Socket | null = null;
  private connecting: Promise<net.Socket> | null = null;
  /** Written on the current connection, not yet confirmed (oldest first). */
  private unconfirmed: Written[] = [];
  private confirmTimer: NodeJS.Timeout | null = null;
  private readonly target: { host: string; port: number };

  constructor(
    config: SiemDestinationConfig,
    options: SinkOptions,
    private readonly resolve: Resolver = systemResolver,
  ) {
    super(config, options);
    const url = new URL(config.url);
    this.target = { host: url.hostname.replace(/^\[(.*)\]$/, "$1"), port: Number(url.port) };
  }

  protected format(event: ExportedEvent): string {
    return octetFrame(syslogMessage(event, this.options.host));
  }

  protected formatGap(dropped: number): string {
    return octetFrame(syslogGapMessage(dropped, this.options.gatewayId, this.options.host));
  }

  /** Writes the messages on the connection (opened first when there is none). */
  protected async send(messages: string[]): Promise<void> {
    const socket = await this.connection();
    await new Promise<void>((resolve, reject) => {
      socket.write(messages.join(""), (error) => (error ? reject(error) : resolve()));
    });
    if (this.socket !== socket) throw new Error("the connection closed while writing");
  }

  /** Written: exported once the connection has outlived them by CONFIRM_MS (confirm()). */
  protected override onSent(messages: string[], events: number[]): void {
    const at = Date.now();
    for (let i = 0; i < messages.length; i++) this.unconfirmed.push({ message: messages[i]!, events: events[i]!, at });
    this.scheduleConfirm();
  }

  protected override unsettled(): number {
    return this.unconfirmed.length;
  }

  protected override abandonUnsettled(): number {
    const events = this.unconfirmed.reduce((n, w) => n + w.events, 0);
    this.unconfirmed = [];
    return events;
  }

  /** Counts as exported what was written at least CONFIRM_MS ago on the live connection. */
  private confirm(): void {
    const cutoff = Date.now() - CONFIRM_MS;
    let n = 0;
    while (n < this.unconfirmed.length && this.unconfirmed[n]!.at <= cutoff) n += 1;
    if (n > 0) {
      this.countExported(this.unconfirmed.splice(0, n).map((w) => w.events));
      this.depthChanged();
    }
    this.scheduleConfirm();
  }

  private scheduleConfirm(): void {
    if (this.confirmTimer || this.unconfirmed.length === 0) return;
    const wait = Math.max(0, this.unconfirmed[0]!.at + CONFIRM_MS - Date.now()) + 10;
    this.confirmTimer = setTimeout(() => {
      this.confirmTimer = null;
      this.confirm();
    }, wait);
    this.confirmTimer.unref();
  }

  /** The connection broke: whatever it carried unconfirmed goes back to the head, to be resent. */
  private lost(socket: net.Socket, reason: string): void {
    if (this.socket !== socket) return;
    this.socket = null;
    socket.destroy();
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
    this.confirmTimer = null;
    const pending = this.unconfirmed;
    this.unconfirmed = [];
    this.lastError = reason;
    if (pending.length === 0) return;
    this.options.metrics.siemResent.inc(
      { destination: this.config.name },
      pending.reduce((n, w) => n + w.events, 0),
    );
    this.options.logger.warn(
      { destination: this.config.name, resend: pending.length, reason },
      "syslog connection lost; resending what it carried unconfirmed",
    );
    this.requeue(
      pending.map((w) => w.message),
      pending.map((w) => w.events),
    );
  }

  private async connection(): Promise<net.Socket> {
    if (this.socket && !this.socket.destroyed) return this.socket;
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async connect(): Promise<net.Socket> {
    const pinned: PinnedHost = await pinHost(this.target.host, this.resolve);
    if (pinned.kind === "internal") {
      throw new Error(
        `${this.target.host} resolves to an internal address (${pinned.address}); register that literal address to send there`,
      );
    }
    if (pinned.kind === "unresolved") throw new Error(`${this.target.host} does not resolve: ${pinned.error.message}`);
    const socket = net.connect({
      host: this.target.host,
      port: this.target.port,
      ...(pinned.kind === "pinned" ? { lookup: pinned.lookup } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${this.target.host}:${this.target.port} timed out`));
      }, CONNECT_TIMEOUT_MS);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    socket.setKeepAlive(true, 10_000);
    socket.setNoDelay(true);
    this.socket = socket;
    // The receiver never talks back: data, an end or an error all mean this connection is over.
    socket.on("data", () => {});
    socket.once("end", () => this.lost(socket, "the receiver closed the connection"));
    socket.once("error", (error) => this.lost(socket, error.message));
    socket.once("close", () => this.lost(socket, "the connection closed"));
    return socket;
  }

  protected async close(): Promise<void> {
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    await new Promise<void>((resolve) => {
      socket.end(() => resolve());
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, 1000).unref();
    });
  }
}
