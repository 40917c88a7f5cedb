"use client";
/**
 * useLiveFeed: the audit page's live feed from the gateway's `/admin/stream`
 * (server/admin/stream.ts).
 *
 * Lifecycle, per filter (tenant, decision — applied by the gateway; a change starts over):
 *  1. ask the dashboard for a fresh 60-second stream token (POST /api/v1/audit/stream-token;
 *     a token opens one stream once, so every (re)connect gets a new one; the gateway keeps
 *     checking the session behind it and closes the stream with 1008 once it ends);
 *  2. open `<url>?tenant=&decision=&after=<cursor>` offering `og-admin.v1` and
 *     `bearer.<token>` as subprotocols — the token never goes into a URL;
 *  3. first connect: the gateway's `hello` names its cursor; the rows at or before it come
 *     from the history API (`beforeId=hello+1`), everything after it from the stream, so the
 *     first screen is full and has no gap;
 *  4. the cursor follows every `event` and `live` message; when the socket closes the hook
 *     reconnects with exponential backoff (0.5 s doubling to 15 s, jittered) and resumes
 *     with `after=<cursor>`: no gap, no duplicate;
 *  5. `lagged` (this tab fell behind and the gateway stopped sending) is shown as a notice;
 *     the gateway then backfills from the cursor by itself.
 * Paused: events keep arriving and are buffered (newest BUFFER_LIMIT kept, all counted),
 * merged on resume. At most MAX_ROWS rows are kept. Incoming events are applied in batches
 * every FLUSH_MS so a flood does not re-render per event.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, api, errorMessage } from "@/app/_client/api-client";
import { type AuditEvent, type AuditPage, auditSearchParams } from "@/app/_client/queries";

export const MAX_ROWS = 500;
const BUFFER_LIMIT = 500;
const FLUSH_MS = 200;
const SEED_ROWS = 50;
const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 15_000;

export type FeedStatus = "connecting" | "live" | "reconnecting" | "failed";

export interface LiveFeedFilter {
  tenant?: string;
  decision?: string;
}

interface StreamGrant {
  token: string;
  url: string;
  protocol: string;
}

type StreamMessage =
  | { type: "hello"; cursor: string }
  | { type: "event"; event: AuditEvent }
  | { type: "live"; cursor: string }
  | { type: "lagged"; missed: number };

export interface LiveFeedState {
  rows: AuditEvent[];
  buffered: AuditEvent[];
  /** Events received while paused (may exceed what the buffer kept). */
  newCount: number;
  status: FeedStatus;
  /** Why the last attempt failed, for the reconnecting notice (never contains the token). */
  problem: string | null;
  attempt: number;
  lagged: { missed: number; at: number } | null;
  /** Where the feed connects (no query, no token). */
  gateway: string | null;
}

const INITIAL: LiveFeedState = {
  rows: [],
  buffered: [],
  newCount: 0,
  status: "connecting",
  problem: null,
  attempt: 0,
  lagged: null,
  gateway: null,
};

function mergeNewest(newer: AuditEvent[], older: AuditEvent[], limit: number): AuditEvent[] {
  const seen = new Set<string>();
  const out: AuditEvent[] = [];
  for (const e of [...newer, ...older]) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    out.push(e);
    if (out.length >= limit) break;
  }
  return out;
}

export function useLiveFeed(filter: LiveFeedFilter) {
  const [state, setState] = useState<LiveFeedState>(INITIAL);
  const [paused, setPaused] = useState(false);
  const pausedRef = useRef(false);
  const { tenant, decision } = filter;

  useEffect(() => {
    let stopped = false;
    let socket: WebSocket | null = null;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    /** Last event id handled for this filter (the resume point); null until the first hello. */
    let cursor: string | null = null;
    const incoming: AuditEvent[] = [];
    setState({ ...INITIAL, newCount: 0 });

    const flush = () => {
      if (incoming.length === 0) return;
      const batch = incoming.splice(0).reverse();
      setState((s) =>
        pausedRef.current
          ? { ...s, buffered: mergeNewest(batch, s.buffered, BUFFER_LIMIT), newCount: s.newCount + batch.length }
          : { ...s, rows: mergeNewest(batch, s.rows, MAX_ROWS) },
      );
    };
    const flushTimer = setInterval(flush, FLUSH_MS);

    const scheduleRetry = (problem: string) => {
      if (stopped) return;
      attempt += 1;
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4);
      setState((s) => ({ ...s, status: "reconnecting", problem, attempt }));
      retryTimer = setTimeout(() => void connect(), delay);
    };

    const seed = async (helloCursor: string) => {
      try {
        const page = await api<AuditPage>(
          `/api/v1/audit?${auditSearchParams(
            { tenant, decision },
            { beforeId: (BigInt(helloCursor) + 1n).toString(), limit: String(SEED_ROWS) },
          )}`,
        );
        if (stopped) return;
        setState((s) => ({ ...s, rows: mergeNewest(s.rows, page.events, MAX_ROWS) }));
      } catch {
        // The feed itself works without the recent rows; the history section shows errors.
      }
    };

    const connect = async () => {
      if (stopped) return;
      let grant: StreamGrant;
      try {
        grant = await api<StreamGrant>("/api/v1/audit/stream-token", { method: "POST" });
      } catch (error) {
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
          setState((s) => ({ ...s, status: "failed", problem: error.message }));
          return;
        }
        scheduleRetry(`could not get a stream token: ${errorMessage(error)}`);
        return;
      }
      if (stopped) return;
      const params = new URLSearchParams();
      if (tenant) params.set("tenant", tenant);
      if (decision) params.set("decision", decision);
      if (cursor !== null) params.set("after", cursor);
      const query = params.toString();
      setState((s) => ({ ...s, gateway: grant.url }));
      let ws: WebSocket;
      try {
        ws = new WebSocket(query ? `${grant.url}?${query}` : grant.url, [grant.protocol, `bearer.${grant.token}`]);
      } catch (error) {
        scheduleRetry(`cannot open ${grant.url}: ${errorMessage(error)}`);
        return;
      }
      socket = ws;
      let opened = false;
      ws.onopen = () => {
        opened = true;
      };
      ws.onmessage = (message) => {
        let data: StreamMessage;
        try {
          data = JSON.parse(String(message.data)) as StreamMessage;
        } catch {
          return;
        }
        switch (data.type) {
          case "hello":
            if (cursor === null) {
              cursor = data.cursor;
              void seed(data.cursor);
            }
            break;
          case "event":
            incoming.push(data.event);
            cursor = data.event.id;
            break;
          case "live":
            cursor = data.cursor;
            attempt = 0;
            flush();
            setState((s) => ({ ...s, status: "live", problem: null, attempt: 0 }));
            break;
          case "lagged":
            setState((s) => ({ ...s, lagged: { missed: data.missed, at: Date.now() } }));
            break;
        }
      };
      ws.onclose = (event) => {
        if (socket === ws) socket = null;
        flush();
        const why = opened
          ? `the connection to the gateway closed (${event.code}${event.reason ? `: ${event.reason}` : ""})`
          : `the gateway at ${grant.url} refused or could not be reached`;
        scheduleRetry(why);
      };
    };

    void connect();
    return () => {
      stopped = true;
      clearTimeout(retryTimer);
      clearInterval(flushTimer);
      if (socket) {
        socket.onclose = null;
        socket.close(1000, "filter changed or page left");
      }
    };
  }, [tenant, decision]);

  const pause = useCallback(() => {
    pausedRef.current = true;
    setPaused(true);
  }, []);

  const resume = useCallback(() => {
    pausedRef.current = false;
    setPaused(false);
    setState((s) => ({ ...s, rows: mergeNewest(s.buffered, s.rows, MAX_ROWS), buffered: [], newCount: 0 }));
  }, []);

  const dismissLagged = useCallback(() => setState((s) => ({ ...s, lagged: null })), []);
  const clear = useCallback(() => setState((s) => ({ ...s, rows: [], buffered: [], newCount: 0 })), []);

  return { ...state, paused, pause, resume, dismissLagged, clear };
}
