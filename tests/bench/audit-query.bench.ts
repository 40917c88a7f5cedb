/**
 * bench:audit-query — the audit history query (`searchAudit` in server/db/audit-queries.ts:
 * filters, newest first or another sort, keyset on (sort value, ts, id), page size 50) on ROWS
 * generated events (default 10 million) in the partitioned `audit_event` (one partition per
 * day), keyset against OFFSET at page 1, 100 and 10,000 (offset 0, 4,950 and 499,950 rows);
 * the audit explorer's aggregates as its page calls them (`auditFacets`, `auditHistogram` in
 * server/db/audit-explore.ts, with the explorer's default range of 24 hours or a wider preset);
 * and the audit page's overview (`auditTimeline`, `topRejectedOrigins`: the last hour and the
 * last day as they are at the newest event, all tenants and the largest one, tester traffic left
 * out or included).
 *
 * Filters: every filter of `auditFilterSchema` the explorer offers (tenant, decision, reason,
 * kind, via, client address, user agent, path, shadow decision / `shadow=differs` / shadow
 * version, origin exact / contains / starts with, time), alone, combined, and under the
 * explorer's default range (`range=24h`: the page always sends a range); every column sort
 * of the history table (time, tenant, reason, origin, count, client address; descending and
 * ascending) under the default range and the widest preset (30 days).
 *
 * Disk: the generated table needs about DISK_BYTES_PER_ROW per event. When the Postgres data
 * directory is on this machine, its free space is checked first (statfs, as `df` reports it)
 * and the bench stops before loading anything when it is short, saying how much it needs.
 *
 * Data (generated in SQL with generate_series, seeded, ids ascending with time over 30
 * days): 20 tenants with a skewed spread (the largest ~47 % of rows), 70 % accepted
 * (handshake and close), 27 % rejected (origin_not_allowed most, then origin_missing,
 * rate_limited, credentials_forbidden, token_invalid, connection_limit, origin_malformed),
 * 3 % report-only; allowed origins per tenant, a long tail of attacker origins; folded
 * rejection counts; a few rows of the rare kinds (revoked, tester, dropped). How requests
 * came: ~4 % via forward_auth (two tenants behind a proxy, a trickle from the others; kinds
 * http, preflight and handshake, folded like refusals), ~0.25 % the tester's own scans
 * (bursts of a few hundred handshakes from 127.0.0.1 about twice a day), 2 % plain HTTP
 * requests through the gateway. Client addresses: each tenant's users (IPv4 with a skew, 15 %
 * IPv6), attackers from a few heavy scanners, flooders (rate_limited), a /24 and a botnet
 * spread. User agents: browsers (Chrome reduced and full versions, Safari, iOS, Firefox,
 * Android, Edge) and a native client; refusals half from tools (curl, python-requests, Go,
 * node-fetch, Nuclei, none). Paths: the gateway's (`/live`, `/ws/chat`, `/socket.io/`,
 * `/graphql`, `/live/<room>`), attackers' probes (`/admin`, `/.env`…), forward auth's REST
 * paths with ids. Shadow decisions (SPEC §5.2) on ~0.2 %: three tenants' staged versions (8:
 * the last 5 days, 12: 12 to 9 days ago, 15: the last 6 hours) deciding otherwise on a share
 * of their decided requests. Replay facts (credentials, token state, offered subprotocols) on
 * every handshake, mostly following the origin (as bench:impact's "realistic").
 * The partitions of the 31 days are made first (`audit_event_create_partition`, as the upkeep
 * does). Secondary indexes are dropped for the load (in chunks of CHUNK rows) and recreated
 * from their own definitions (pg_indexes), then ANALYZE — the same indexes the migrations
 * create. Then the summary (audit_count, audit_rejected_origin, audit_origin, audit_user_agent,
 * audit_replay, audit_pattern_hit) catches up, as the gateways' passes do. On a reused database
 * (BENCH_REUSE_DB) nothing is migrated: apply new migrations first (npm run db:migrate).
 *
 * Method: for each filter, sort and depth, the keyset cursor is that of the last row of the
 * previous page (found untimed, with OFFSET); each call runs RUNS times (fewer when the runs
 * of one measurement pass RUN_BUDGET_MS: the cell says how many) and the median wall time of
 * the call is reported (searchAudit itself for keyset: zod parsing, SQL, row mapping; the
 * same SQL with OFFSET for the comparison; auditFacets / auditHistogram as the API calls
 * them). Anything over 50 ms gets the plans of the SQL it ran printed (EXPLAIN ANALYZE of
 * the exact statements, recorded) so the missing index can be named. The load average is
 * printed before and after each table (the machine is shared).
 *
 * Goal (issues 6, 15, 16): every keyset page, every explorer aggregate and every overview
 * query under 50 ms.
 * Run: DATABASE_URL=postgres://... npm run bench:audit-query   (BENCH_ROWS=2000000 for a smaller run)
 * BENCH_ONLY=<substring> times only the rows whose label contains it (diagnosis).
 */
import { existsSync, statfsSync } from "node:fs";
import os from "node:os";
import pg from "pg";
import { summarizeAudit } from "../../server/audit/summary";
import { type AuditExploreFilter, auditFacets, auditHistogram } from "../../server/db/audit-explore";
import { AUDIT_SORTS, parseAuditSort } from "../../server/db/audit-fields";
import {
  AUDIT_COLUMNS,
  type AuditFilter,
  auditCursor,
  auditFilterSchema,
  auditOrderBy,
  auditTimeline,
  auditWhere,
  matchedValues,
  overviewWindow,
  type Queryable,
  searchAudit,
  topRejectedOrigins,
} from "../../server/db/audit-queries";
import { databaseName } from "../../server/db/pg-server";
import {
  type BenchDatabase,
  benchDatabase,
  cpuBreakdown,
  cpuSnapshot,
  fmt,
  machineLine,
  median,
  runBench,
  verdict,
} from "./kit";

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const CHUNK = 1_000_000;
/** Heap, indexes and WAL per generated event, with a margin (measured: ~560 B at 10 M rows). */
const DISK_BYTES_PER_ROW = 1000;
const PAGE = 50;
const DEPTHS = [1, 100, 10_000];
const RUNS = 5;
const DEEP_OFFSET_RUNS = 3;
/** A measurement stops repeating once its runs took this long (a multi-second scan is not run 5 times). */
const RUN_BUDGET_MS = 6000;
/** Plans are EXPLAIN ANALYZEd up to this long a call; longer ones get a plain EXPLAIN (said so). */
const ANALYZE_UP_TO_MS = 15_000;
const GOAL_MS = 50;
const ONLY = process.env.BENCH_ONLY;

let db: BenchDatabase | null = null;

const GENERATE = `
insert into audit_event (ts, last_ts, gateway_id, kind, via, tenant, decision, reason, origin, origin_normalized,
                         remote_addr, user_agent, path, subprotocol, policy_version, matched_pattern, count,
                         close_code, duration_ms, shadow_decision, shadow_reason, shadow_version,
                         credentials, token_state, offered_subprotocols)
select ts, case when folded then ts + interval '1 second' end, gw, kind, via, tenant,
       case when kind <> 'dropped' then decision end, case when kind <> 'dropped' then reason end,
       origin, case when reason in ('origin_malformed', 'origin_missing') then null else origin end,
       ip, ua, path, null, 7, case when decision = 'accepted' then 'https://*.' || tenant || '.example.com' end,
       case when folded then 2 + (r5 * 40)::int else 1 end,
       case when kind = 'close' then 1000 end, case when kind = 'close' then (r5 * 600000)::int end,
       case when shadow_version is not null then
         (case when decision = 'accepted' then 'rejected' else 'accepted' end)::audit_decision end,
       case when shadow_version is not null then
         case when decision = 'accepted' then 'origin_not_allowed' else 'allowed' end end,
       shadow_version,
       case when kind = 'handshake' then case when r11 < 0.95 then h % 20 = 0 else r10 < 0.05 end end,
       case when kind = 'handshake' then (array['none', 'none', 'valid', 'valid', 'invalid'])[1 + h % 5] end,
       case when kind = 'handshake' then (array['', 'chat', 'chat,v2'])[1 + (h / 7) % 3] end
from (
  select *,
         abs(hashtext(coalesce(origin, '')))::bigint as h,
         -- Staged versions deciding otherwise on a share of three tenants' decided requests (SPEC §5.2).
         case when kind in ('handshake', 'http') and via <> 'tester' and decision is not null then
           case when tenant = 'tenant-1' and ts > now() - interval '5 days' and r10 < 0.10 then 8
                when tenant = 'tenant-4' and ts > now() - interval '12 days' and ts < now() - interval '9 days' and r10 < 0.20 then 12
                when tenant = 'tenant-0' and ts > now() - interval '6 hours' and r10 < 0.02 then 15
           end
         end as shadow_version
  from (
    select ts, gw, r5, r10, r11, tenant, decision, reason, kind, via,
           (decision = 'rejected' or via = 'forward_auth') and r5 < 0.3 and via <> 'tester' as folded,
           case
             when via = 'tester' and decision = 'accepted' then 'https://app' || (r4 * 3)::int || '.' || tenant || '.example.com'
             when via = 'tester' then (array['https://app0.' || tenant || '.example.com.attacker.io',
                                             'http://app0.' || tenant || '.example.com',
                                             'https://app0-' || tenant || '.example.com',
                                             'https://evil.app0.' || tenant || '.example.com.net'])[1 + floor(r4 * 4)::int]
             when reason = 'origin_missing' then null
             when reason = 'origin_malformed' then 'null-ish origin ' || (r4 * 20)::int
             when decision = 'accepted' then 'https://app' || (r4 * r4 * 20)::int || '.' || tenant || '.example.com'
             else 'https://evil' || (r4 * r4 * r4 * 5000)::int || '.example.net'
           end as origin,
           case
             when via = 'tester' then '127.0.0.1'
             when decision <> 'rejected' and r8 < 0.15
               then '2001:db8:' || to_hex(tn) || '::' || to_hex((r15 * r15 * 20000)::int)
             when decision <> 'rejected'
               then '100.' || (64 + tn) || '.' || (r15 * r15 * 255)::int || '.' || (r16 * 255)::int
             when reason = 'rate_limited' then '203.0.113.' || (r15 * r15 * r15 * r15 * 30)::int
             when r8 < 0.40 then '203.0.113.' || (r15 * r15 * r15 * 255)::int
             when r8 < 0.70 then '198.51.100.' || (r15 * 255)::int
             when r8 < 0.85 then '2001:db8:ffff::' || to_hex((r15 * 4095)::int)
             else '45.' || (r15 * 255)::int || '.' || (r16 * 255)::int || '.' || (r16 * r15 * 255)::int
           end as ip,
           case
             when via = 'tester' then 'OriginGate-Tester/1'
             when decision = 'rejected' and r7 < 0.55 then
               case when r7 < 0.20 then 'curl/' || (array['7.88.1', '8.5.0', '8.7.1'])[1 + floor(r14 * 3)::int]
                    when r7 < 0.35 then 'python-requests/2.' || (28 + (r14 * 4)::int) || '.0'
                    when r7 < 0.43 then 'Go-http-client/1.1'
                    when r7 < 0.48 then 'node-fetch/1.0 (+https://github.com/bitinn/node-fetch)'
                    when r7 < 0.51 then 'Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))'
               end
             -- Reduced Chrome user agents (major version only), a few with the full version.
             when r7 < 0.34 then 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/'
                                 || (120 + (r14 * 11)::int) || '.0.0.0 Safari/537.36'
             when r7 < 0.38 then 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/'
                                 || (120 + (r14 * 11)::int) || '.0.' || (6000 + (r14 * r14 * 700)::int) || '.' || (r16 * 200)::int || ' Safari/537.36'
             when r7 < 0.55 then 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/'
                                 || (120 + (r14 * 11)::int) || '.0.0.0 Safari/537.36'
             when r7 < 0.70 then 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.'
                                 || (r14 * 6)::int || ' Safari/605.1.15'
             when r7 < 0.80 then 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_' || (r14 * 6)::int
                                 || ' like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.' || (r14 * 6)::int || ' Mobile/15E148 Safari/604.1'
             when r7 < 0.88 then 'Mozilla/5.0 (X11; Linux x86_64; rv:' || (120 + (r14 * 13)::int) || '.0) Gecko/20100101 Firefox/' || (120 + (r14 * 13)::int) || '.0'
             when r7 < 0.95 then 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/'
                                 || (120 + (r14 * 11)::int) || '.0.0.0 Mobile Safari/537.36'
             when r7 < 0.98 then 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.'
                                 || (2900 + (r14 * 50)::int) || '.0'
             else 'okhttp/4.12.0'
           end as ua,
           case
             when via = 'forward_auth' and kind = 'handshake' then '/ws'
             when via = 'forward_auth' or kind in ('http', 'preflight')
               then '/api/v1/' || (array['orders', 'users', 'items', 'events'])[1 + floor(r9 * 4)::int] || '/' || (r13 * r13 * 100000)::int
             when via = 'tester' then '/live'
             when decision = 'rejected' and r9 > 0.8
               then (array['/', '/admin', '/admin/ws', '/.env', '/api/internal'])[1 + floor(r13 * 5)::int]
             when r9 < 0.45 then '/live'
             when r9 < 0.65 then '/ws/chat'
             when r9 < 0.78 then '/socket.io/'
             when r9 < 0.86 then '/graphql'
             else '/live/' || (r13 * r13 * 1000)::int
           end as path
    from (
      select ts, gw, r3, r4, r5, r7, r8, r9, r10, r11, r13, r14, r15, r16, tn, tenant, via,
             case
               when via = 'tester' then (case when r1 < 0.2 then 'accepted' else 'rejected' end)::audit_decision
               else decision
             end as decision,
             case
               when via = 'tester' then case when r1 < 0.2 then 'allowed' else 'origin_not_allowed' end
               when decision = 'accepted' then 'allowed'
               when decision = 'report_only' then 'origin_not_allowed'
               when r2 < 0.70 then 'origin_not_allowed'
               when r2 < 0.80 then 'origin_missing'
               when r2 < 0.88 then 'rate_limited'
               when r2 < 0.93 then 'credentials_forbidden'
               when r2 < 0.97 then 'token_invalid'
               when r2 < 0.99 then 'connection_limit'
               else 'origin_malformed'
             end as reason,
             (case
               when via = 'tester' then 'handshake'
               when via = 'forward_auth' then case when r12 < 0.70 then 'http' when r12 < 0.78 then 'preflight' else 'handshake' end
               when r1 < 0.32 then 'close' when r2 < 0.0001 then 'revoked' when r2 > 0.9999 then 'dropped'
               when r3 < 0.0001 then 'tester'
               when r12 < 0.03 then 'http' when r12 > 0.995 then 'preflight'
               else 'handshake'
             end)::audit_kind as kind
      from (
        select *,
               (case
                 -- The tester's scans: bursts of a few hundred handshakes about twice a day.
                 when g % 200000 < 600 and r6 < 0.8 then 'tester'
                 -- Two tenants behind a proxy's forward auth, a trickle from the others.
                 when (tn in (9, 13) and r6 < 0.9) or r6 < 0.005 then 'forward_auth'
                 else 'gateway'
               end)::audit_via as via
        from (
          select *, 'tenant-' || tn as tenant,
                 (case when r1 < 0.70 then 'accepted' when r1 < 0.97 then 'rejected' else 'report_only' end)::audit_decision as decision
          from (
            select g, now() - interval '30 days' + g * (interval '30 days' / $1) as ts,
                   'gw-' || (g % 3) as gw, floor(r0 * r0 * r0 * r0 * 20)::int as tn,
                   r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15, r16
            from (
              select g, random() as r0, random() as r1, random() as r2, random() as r3, random() as r4, random() as r5,
                     random() as r6, random() as r7, random() as r8, random() as r9, random() as r10, random() as r11,
                     random() as r12, random() as r13, random() as r14, random() as r15, random() as r16
              from generate_series($2::int, $3::int) as g
            ) rand
          ) raw
        ) picked
      ) vias
    ) reasoned
  ) shaped
) shadowed
order by ts`;

type HistoryFilter = Omit<AuditFilter, "cursor" | "limit">;

interface Case {
  label: string;
  filter: HistoryFilter;
}

const DAY = 86_400_000;
/** The explorer's default range: the page always sends one (app/_client/queries.ts explorerFilter). */
const UI: HistoryFilter = { range: "24h" };
/** The widest preset. */
const WIDEST: HistoryFilter = { range: "30d" };
/** Addresses and values the generator makes (see GENERATE). */
const HEAVY_SCANNER = "203.0.113.0";
const CLIENT_V4 = "100.64.0.17";
const CLIENT_V6 = "2001:db8:1::0";
const SCANNER_NET = "198.51.100.77";

/** The filters of the history (the older rows first, as in earlier runs; then the explorer's). */
function cases(now: number): Case[] {
  return [
    { label: "no filter", filter: {} },
    { label: "tenant (largest)", filter: { tenant: "tenant-0" } },
    { label: "tenant (smallest)", filter: { tenant: "tenant-19" } },
    { label: "decision = rejected", filter: { decision: "rejected" } },
    { label: "decision = report_only", filter: { decision: "report_only" } },
    { label: "decision = accepted", filter: { decision: "accepted" } },
    { label: "tenant + decision = rejected", filter: { tenant: "tenant-0", decision: "rejected" } },
    { label: "tenant + reason = token_invalid (rare)", filter: { tenant: "tenant-3", reason: "token_invalid" } },
    { label: "reason = origin_malformed", filter: { reason: "origin_malformed" } },
    { label: "origin (frequent attacker)", filter: { origin: "https://evil0.example.net" } },
    { label: "origin (allowed, one tenant's app)", filter: { origin: "https://app3.tenant-2.example.com" } },
    { label: "origin (rare, malformed as sent)", filter: { origin: "null-ish origin 7" } },
    { label: "origin (no such origin)", filter: { origin: "https://never.example.org" } },
    { label: "originContains (frequent: evil0.)", filter: { originContains: "evil0." } },
    { label: "originContains (rare: evil4321)", filter: { originContains: "evil4321" } },
    { label: "originContains (tenant-7.example)", filter: { originContains: "tenant-7.example" } },
    { label: "originContains (matches nothing)", filter: { originContains: "zzqx-nothing" } },
    { label: "originPrefix (https://evil12)", filter: { originPrefix: "https://evil12" } },
    { label: "originPrefix (null-ish, malformed)", filter: { originPrefix: "null-ish origin 1" } },
    { label: "tenant + originContains", filter: { tenant: "tenant-1", originContains: "evil3" } },
    { label: "kind = close", filter: { kind: "close" } },
    { label: "kind = dropped (rare)", filter: { kind: "dropped" } },
    { label: "kind = tester (rare)", filter: { kind: "tester" } },
    {
      label: "tenant + one day, 10 days ago",
      filter: {
        tenant: "tenant-0",
        since: new Date(now - 10 * DAY).toISOString(),
        until: new Date(now - 9 * DAY).toISOString(),
      },
    },
    {
      label: "reason = rate_limited + last 24 h",
      filter: { reason: "rate_limited", since: new Date(now - DAY).toISOString() },
    },
    {
      label: "originContains + one day, 20 days ago",
      filter: {
        originContains: "evil2",
        since: new Date(now - 20 * DAY).toISOString(),
        until: new Date(now - 19 * DAY).toISOString(),
      },
    },
    // The explorer's filters (issue 16). Client address: exact.
    { label: "remoteAddr (heaviest scanner)", filter: { remoteAddr: HEAVY_SCANNER } },
    {
      label: "remoteAddr (heaviest scanner) + decision = rejected",
      filter: { remoteAddr: HEAVY_SCANNER, decision: "rejected" },
    },
    { label: "remoteAddr (one user, IPv4)", filter: { remoteAddr: CLIENT_V4 } },
    { label: "remoteAddr (one user, IPv6)", filter: { remoteAddr: CLIENT_V6 } },
    { label: "remoteAddr (one of a scanning /24)", filter: { remoteAddr: SCANNER_NET } },
    {
      label: "remoteAddr (one of a scanning /24) + decision = rejected",
      filter: { remoteAddr: SCANNER_NET, decision: "rejected" },
    },
    { label: "remoteAddr (no such address)", filter: { remoteAddr: "192.0.2.1" } },
    { label: "remoteAddr (tester, 127.0.0.1)", filter: { remoteAddr: "127.0.0.1" } },
    { label: "tenant + remoteAddr (one user)", filter: { tenant: "tenant-0", remoteAddr: CLIENT_V4 } },
    // User agent: case-insensitive substring.
    { label: "userAgent ~ curl (5 %)", filter: { userAgent: "curl" } },
    { label: "userAgent ~ python-requests", filter: { userAgent: "python-requests" } },
    { label: "userAgent ~ Firefox", filter: { userAgent: "Firefox" } },
    { label: "userAgent ~ Nuclei (rare)", filter: { userAgent: "Nuclei" } },
    { label: "userAgent ~ OriginGate-Tester (bursts)", filter: { userAgent: "OriginGate-Tester" } },
    { label: "userAgent (matches nothing)", filter: { userAgent: "zzqx-nothing" } },
    { label: "decision = rejected + userAgent ~ curl", filter: { decision: "rejected", userAgent: "curl" } },
    // Path: starts with.
    { label: "path ^ /live (half the rows)", filter: { path: "/live" } },
    { label: "path ^ /live/42 (rare rooms)", filter: { path: "/live/42" } },
    { label: "path ^ /admin (probes)", filter: { path: "/admin" } },
    { label: "path ^ /.env (rare probe)", filter: { path: "/.env" } },
    { label: "path ^ /api/v1/orders/ (forward auth)", filter: { path: "/api/v1/orders/" } },
    { label: "path (matches nothing)", filter: { path: "/zzqx-nothing" } },
    { label: "tenant + path ^ /admin", filter: { tenant: "tenant-0", path: "/admin" } },
    // How the request came.
    { label: "via = gateway", filter: { via: "gateway" } },
    { label: "via = forward_auth (4 %)", filter: { via: "forward_auth" } },
    { label: "via = tester (bursts)", filter: { via: "tester" } },
    { label: "tenant (behind a proxy) + via = forward_auth", filter: { tenant: "tenant-9", via: "forward_auth" } },
    { label: "decision = rejected + via = forward_auth", filter: { decision: "rejected", via: "forward_auth" } },
    { label: "kind = http", filter: { kind: "http" } },
    { label: "kind = preflight", filter: { kind: "preflight" } },
    // Shadow decisions of staged versions.
    { label: "shadow = differs", filter: { shadow: "differs" } },
    { label: "shadowDecision = rejected", filter: { shadowDecision: "rejected" } },
    { label: "shadowDecision = accepted", filter: { shadowDecision: "accepted" } },
    { label: "shadowVersion = 12 (9-12 days ago)", filter: { shadowVersion: "12" } },
    { label: "shadowVersion (no such version)", filter: { shadowVersion: "99" } },
    { label: "tenant + shadow = differs", filter: { tenant: "tenant-1", shadow: "differs" } },
    // As the page sends them: with its default range (last 24 hours).
    { label: "UI 24h: no filter (the default view)", filter: { ...UI } },
    { label: "UI 24h: tenant (largest)", filter: { ...UI, tenant: "tenant-0" } },
    { label: "UI 24h: decision = rejected", filter: { ...UI, decision: "rejected" } },
    { label: "UI 24h: remoteAddr (heaviest scanner)", filter: { ...UI, remoteAddr: HEAVY_SCANNER } },
    { label: "UI 24h: remoteAddr (one user)", filter: { ...UI, remoteAddr: CLIENT_V4 } },
    { label: "UI 24h: userAgent ~ curl", filter: { ...UI, userAgent: "curl" } },
    { label: "UI 24h: userAgent ~ Nuclei (rare)", filter: { ...UI, userAgent: "Nuclei" } },
    { label: "UI 24h: path ^ /admin", filter: { ...UI, path: "/admin" } },
    { label: "UI 24h: via = forward_auth", filter: { ...UI, via: "forward_auth" } },
    { label: "UI 24h: via = tester", filter: { ...UI, via: "tester" } },
    { label: "UI 24h: shadow = differs", filter: { ...UI, shadow: "differs" } },
    { label: "UI 24h: originContains (frequent: evil0.)", filter: { ...UI, originContains: "evil0." } },
    { label: "UI 30d: remoteAddr (one user)", filter: { ...WIDEST, remoteAddr: CLIENT_V4 } },
    // Column sorts (the history table's headers: first click descending, then ascending).
    ...[
      "ts",
      "-count",
      "count",
      "-tenant",
      "tenant",
      "-reason",
      "reason",
      "-origin",
      "origin",
      "-remoteAddr",
      "remoteAddr",
    ].map((sort) => ({ label: `UI 24h: sort ${sort}`, filter: { ...UI, sort } })),
    ...["ts", "-count", "-tenant", "-reason", "-origin", "-remoteAddr"].map((sort) => ({
      label: `UI 30d: sort ${sort}`,
      filter: { ...WIDEST, sort },
    })),
    { label: "UI 24h: decision = rejected, sort -count", filter: { ...UI, decision: "rejected", sort: "-count" } },
    { label: "UI 24h: tenant, sort -origin", filter: { ...UI, tenant: "tenant-0", sort: "-origin" } },
    {
      label: "UI 24h: remoteAddr (scanner), sort -count",
      filter: { ...UI, remoteAddr: HEAVY_SCANNER, sort: "-count" },
    },
  ];
}

/**
 * The generated data ends when it was loaded, a while before the explorer's rows run: the
 * shortest preset (`range=15m`) would find nothing, so it is stood in for by the same span
 * ending at the newest event (since/until, as the page's absolute range sends it).
 */
function lastMinutes(newest: Date, minutes: number): HistoryFilter {
  return {
    since: new Date(newest.getTime() - minutes * 60_000).toISOString(),
    until: new Date(newest.getTime() + 1).toISOString(),
  };
}

/** Facet counts as the page asks for them (GET /api/v1/audit/facets: the filter without sort). */
function facetCases(newest: Date): Case[] {
  return [
    { label: "UI 24h: no filter (the default view)", filter: { ...UI } },
    { label: "15 min: no filter (the data's last 15 minutes)", filter: lastMinutes(newest, 15) },
    { label: "UI 7d: no filter", filter: { range: "7d" } },
    { label: "UI 30d: no filter", filter: { ...WIDEST } },
    { label: "UI 24h: tenant (largest)", filter: { ...UI, tenant: "tenant-0" } },
    { label: "UI 24h: decision = rejected", filter: { ...UI, decision: "rejected" } },
    {
      label: "UI 24h: decision = rejected + reason + userAgent ~ python",
      filter: { ...UI, decision: "rejected", reason: "origin_not_allowed", userAgent: "python" },
    },
    { label: "UI 24h: remoteAddr (heaviest scanner)", filter: { ...UI, remoteAddr: HEAVY_SCANNER } },
    { label: "UI 24h: remoteAddr (one user)", filter: { ...UI, remoteAddr: CLIENT_V4 } },
    { label: "UI 30d: remoteAddr (one user)", filter: { ...WIDEST, remoteAddr: CLIENT_V4 } },
    { label: "UI 24h: userAgent ~ curl", filter: { ...UI, userAgent: "curl" } },
    { label: "UI 24h: userAgent ~ Nuclei (rare)", filter: { ...UI, userAgent: "Nuclei" } },
    { label: "UI 24h: path ^ /admin", filter: { ...UI, path: "/admin" } },
    { label: "UI 24h: via = forward_auth", filter: { ...UI, via: "forward_auth" } },
    { label: "UI 24h: via = tester", filter: { ...UI, via: "tester" } },
    { label: "UI 24h: shadow = differs", filter: { ...UI, shadow: "differs" } },
    { label: "UI 30d: shadow = differs", filter: { ...WIDEST, shadow: "differs" } },
    { label: "UI 24h: originContains (frequent: evil0.)", filter: { ...UI, originContains: "evil0." } },
  ];
}

/** The histogram by reason as the page asks for it (GET /api/v1/audit/histogram). */
function histogramCases(newest: Date): Case[] {
  return [
    { label: "15 min: no filter (the data's last 15 minutes)", filter: lastMinutes(newest, 15) },
    { label: "UI 24h: no filter (the default view)", filter: { ...UI } },
    { label: "UI 7d: no filter", filter: { range: "7d" } },
    { label: "UI 30d: no filter", filter: { ...WIDEST } },
    { label: "UI 24h: tenant (largest)", filter: { ...UI, tenant: "tenant-0" } },
    { label: "UI 24h: decision = rejected", filter: { ...UI, decision: "rejected" } },
    { label: "UI 24h: remoteAddr (one user)", filter: { ...UI, remoteAddr: CLIENT_V4 } },
    { label: "UI 24h: userAgent ~ curl", filter: { ...UI, userAgent: "curl" } },
    { label: "UI 24h: via = tester", filter: { ...UI, via: "tester" } },
    { label: "UI 30d: shadow = differs", filter: { ...WIDEST, shadow: "differs" } },
  ];
}

/** The WHERE clause searchAudit builds for a filter (origin and user-agent patterns resolved through the summary's dictionaries as it does). */
async function filterSql(pool: pg.Pool, filter: HistoryFilter): Promise<{ where: string[]; values: unknown[] }> {
  const values: unknown[] = [];
  const f = auditFilterSchema.parse(filter);
  // As searchAudit does, minus its split at the summary's watermark (the bench's summary has caught up).
  const matched = await matchedValues(pool, f);
  const { rows } = await pool.query<{ w: string }>("select last_id::text as w from audit_summary_state");
  const resolved = Object.values(matched).some((m) => m !== null);
  return {
    where: auditWhere(
      f,
      values,
      resolved ? { mode: "summarized", matched, watermark: rows[0]!.w } : { mode: "patterns" },
    ),
    values,
  };
}

/** What the facet and histogram endpoints take: the history's filter without paging and sort. */
function exploreFilter(filter: HistoryFilter): AuditExploreFilter {
  const { limit: _limit, sort: _sort, cursor: _cursor, beforeId: _beforeId, ...rest } = auditFilterSchema.parse(filter);
  return rest;
}

interface Timing {
  ms: number;
  runs: number;
}

/** Median of up to `runs` calls (fewer once RUN_BUDGET_MS is spent). */
async function timed(fn: () => Promise<unknown>, runs: number): Promise<Timing> {
  const times: number[] = [];
  let spent = 0;
  while (times.length < runs && (times.length === 0 || spent < RUN_BUDGET_MS)) {
    const t0 = performance.now();
    await fn();
    const ms = performance.now() - t0;
    times.push(ms);
    spent += ms;
  }
  return { ms: median(times), runs: times.length };
}

/** A cell: the median, and how many runs when fewer than asked. */
function cell(t: Timing, asked: number): string {
  return t.runs < asked ? `${fmt(t.ms, 1)} (${t.runs}×)` : fmt(t.ms, 1);
}

function loadLine(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" / ");
}

/**
 * A Queryable over the pool that records the statements on audit_event and the summary's
 * tables (audit_count, audit_rejected_origin, audit_origin) a call runs (through
 * the pool or a client it checks out, as withSummaryWatermark does), for their plans.
 */
function recording(pool: pg.Pool): { db: Queryable; statements: Array<{ text: string; values: unknown[] }> } {
  const statements: Array<{ text: string; values: unknown[] }> = [];
  const record = (text: string, values?: unknown[]) => {
    if (/\baudit_(event|count|rejected_origin|origin|user_agent)\b/.test(text))
      statements.push({ text, values: values ?? [] });
  };
  const db = {
    get totalCount() {
      return pool.totalCount;
    },
    query(text: string, values?: unknown[]) {
      record(text, values);
      return pool.query(text, values);
    },
    async connect() {
      const client = await pool.connect();
      return {
        query(text: string, values?: unknown[]) {
          record(text, values);
          return client.query(text, values);
        },
        release(error?: Error | boolean) {
          client.release(error);
        },
      };
    },
  };
  return { db: db as unknown as Queryable, statements };
}

/** The plans of the statements on the audit tables that `call` runs (EXPLAIN ANALYZE unless the call is very slow). */
async function plansOf(pool: pg.Pool, call: (db: Queryable) => Promise<unknown>, ms: number): Promise<string> {
  const { db: recorder, statements } = recording(pool);
  await call(recorder);
  const analyze = ms <= ANALYZE_UP_TO_MS;
  const out: string[] = [];
  for (const s of statements) {
    const { rows } = await pool.query<{ "QUERY PLAN": string }>(
      `explain (${analyze ? "analyze, buffers, " : ""}costs off) ${s.text}`,
      s.values,
    );
    out.push(
      `${analyze ? "" : `(EXPLAIN without ANALYZE: the call takes ${fmt(ms / 1000, 1)} s)\n`}${rows.map((r) => r["QUERY PLAN"]).join("\n")}`,
    );
  }
  return out.join("\n-- next statement of the same call --\n");
}

interface Slow {
  what: string;
  ms: number;
  plan: string;
}

async function main(): Promise<void> {
  // Diagnosis: BENCH_REUSE_DB=<url of a database a kept run loaded> skips the load.
  const reuse = process.env.BENCH_REUSE_DB;
  db = reuse
    ? { url: reuse, postgresVersion: "(reused database)", drop: async () => {} }
    : await benchDatabase("auditq");
  console.log(`bench:audit-query — ${machineLine(db.postgresVersion)}`);
  console.log(`load average (1 / 5 / 15 min) at start: ${loadLine()}`);
  // As many connections as the dashboard's audit pool (app/_lib/audit/audit-db.ts): facets run in parallel.
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });

  if (!reuse) {
    if (!(await enoughDisk(pool))) return;
    await load(pool);
  }
  await describeData(pool);
  // The summary (server/audit/summary.ts) catches up with the generated events, as the
  // gateways' passes do with live ones; its cost per event is what it adds to Postgres' work.
  const summaryStarted = performance.now();
  const cpuBefore = cpuSnapshot();
  let summarized = 0;
  for (;;) {
    const pass = await summarizeAudit({ pool, maxRows: 500_000, budgetMs: 60_000 });
    summarized += pass.rows;
    if (!pass.behind) break;
  }
  const summaryMs = performance.now() - summaryStarted;
  const summaryCores = cpuBreakdown(cpuBefore, cpuSnapshot(), {}, databaseName(db.url));
  await pool.query(
    "vacuum analyze audit_count, audit_rejected_origin, audit_origin, audit_user_agent, audit_replay, audit_pattern_hit",
  );
  const { rows: summarySizes } = await pool.query<{
    counts: string;
    rejected: string;
    origins: string;
    agents: string;
    replay: string;
    hits: string;
    size: string;
  }>(
    `select (select count(*) from audit_count)::text as counts, (select count(*) from audit_rejected_origin)::text as rejected,
            (select count(*) from audit_origin)::text as origins, (select count(*) from audit_user_agent)::text as agents,
            (select count(*) from audit_replay)::text as replay,
            (select count(*) from audit_pattern_hit)::text as hits,
            pg_size_pretty(pg_total_relation_size('audit_count') + pg_total_relation_size('audit_rejected_origin')
              + pg_total_relation_size('audit_origin') + pg_total_relation_size('audit_user_agent')
              + pg_total_relation_size('audit_replay')
              + pg_total_relation_size('audit_pattern_hit')) as size`,
  );
  const s = summarySizes[0]!;
  console.log(
    `summary: ${fmt(summarized)} events summarized in ${fmt(summaryMs / 1000, 1)} s ` +
      `(${fmt(summarized ? ((summaryCores.postgres ?? 0) * summaryMs * 1000) / summarized : 0, 2)} µs of Postgres CPU per event); ` +
      `${fmt(Number(s.counts))} count rows, ${fmt(Number(s.rejected))} rejected-origin rows, ${fmt(Number(s.origins))} origins, ` +
      `${fmt(Number(s.agents))} user agents, ` +
      `${fmt(Number(s.replay))} replay rows, ${fmt(Number(s.hits))} pattern-hit rows (${s.size})\n`,
  );

  // Sanity (a real error, not a figure): page 1 is the newest events, by time then id.
  const { events } = await searchAudit(pool, { limit: PAGE });
  const { rows: newest } = await pool.query<{ id: string }>(
    `select id::text as id from audit_event order by ts desc, audit_event.id desc limit ${PAGE}`,
  );
  if (events.map((e) => e.id).join() !== newest.map((r) => r.id).join()) {
    throw new Error("searchAudit page 1 is not the newest events in (ts, id) order");
  }

  const { rows: newestRows } = await pool.query<{ ts: Date }>("select max(ts) as ts from audit_event");
  const newestTs = newestRows[0]!.ts;
  console.log(
    `newest event: ${newestTs.toISOString()} (${fmt((Date.now() - newestTs.getTime()) / 60_000, 0)} min ago: relative ranges hold that much less data)`,
  );
  const slow: Slow[] = [];
  const pick = <T extends { label: string }>(list: T[]) => (ONLY ? list.filter((c) => c.label.includes(ONLY)) : list);
  console.log(`load average before the history table: ${loadLine()}`);
  console.log(
    "| filter | matching rows | keyset p.1 | keyset p.100 | keyset p.10,000 | OFFSET p.1 | OFFSET p.100 | OFFSET p.10,000 | goal |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---|");
  let worstKeyset = 0;
  let keysetMisses = 0;
  for (const c of pick(cases(Date.now()))) {
    const { where, values } = await filterSql(pool, c.filter);
    const whereSql = where.length ? `where ${where.join(" and ")}` : "";
    const sortSql = AUDIT_SORTS[parseAuditSort(c.filter.sort).column].sql;
    const order = auditOrderBy(c.filter.sort);
    const { rows: countRows } = await pool.query<{ n: string }>(
      `select count(*)::text as n from audit_event ${whereSql}`,
      values,
    );
    const matching = Number(countRows[0]!.n);
    const keyset: string[] = [];
    const offset: string[] = [];
    let rowWorst = 0;
    let planned = false;
    for (const depth of DEPTHS) {
      const skip = PAGE * (depth - 1);
      // Page 1 is timed even when nothing matches: an empty result is a page the explorer shows too.
      if (depth > 1 && skip >= matching) {
        keyset.push("n/a");
        offset.push("n/a");
        continue;
      }
      let cursor: string | undefined;
      if (depth > 1) {
        // The cursor searchAudit's nextCursor gives for the row before the page (auditCursor).
        const { rows } = await pool.query<{ ts: Date; id: string; v: string | null }>(
          `select ts, id::text as id, ${sortSql === null ? "null" : `(${sortSql})::text`} as v from audit_event ${whereSql}
            order by ${order} offset $${values.length + 1} limit 1`,
          [...values, skip - 1],
        );
        const r = rows[0]!;
        cursor = auditCursor(c.filter.sort, { ts: r.ts, id: r.id, sortValue: r.v });
      }
      const filter: AuditFilter = { ...c.filter, limit: PAGE, ...(cursor ? { cursor } : {}) };
      const keysetT = await timed(() => searchAudit(pool, filter), RUNS);
      const offsetSql = `select ${AUDIT_COLUMNS} from audit_event ${whereSql} order by ${order} limit ${PAGE + 1} offset ${skip}`;
      const offsetRuns = depth === 10_000 ? DEEP_OFFSET_RUNS : RUNS;
      const offsetT = await timed(() => pool.query(offsetSql, values), offsetRuns);
      keyset.push(cell(keysetT, RUNS));
      offset.push(cell(offsetT, offsetRuns));
      rowWorst = Math.max(rowWorst, keysetT.ms);
      if (keysetT.ms >= GOAL_MS && !planned) {
        planned = true;
        const plan = await plansOf(pool, (q) => searchAudit(q, filter), keysetT.ms);
        slow.push({ what: `keyset page: ${c.label}, page ${fmt(depth)}`, ms: keysetT.ms, plan });
      }
    }
    worstKeyset = Math.max(worstKeyset, rowWorst);
    if (rowWorst >= GOAL_MS) keysetMisses++;
    console.log(
      `| ${c.label} | ${fmt(matching)} | ${keyset.join(" | ")} | ${offset.join(" | ")} | ${verdict(rowWorst < GOAL_MS)} |`,
    );
  }
  console.log(
    `\n(times in ms, median of ${RUNS} calls — (n×): fewer, the runs passed ${RUN_BUDGET_MS / 1000} s; n/a = fewer matching rows than the page's offset)`,
  );
  console.log(
    `goal: every keyset page < ${GOAL_MS} ms → worst ${fmt(worstKeyset, 1)} ms, ${keysetMisses} rows over ${verdict(worstKeyset < GOAL_MS)}`,
  );
  console.log(`load average after the history table: ${loadLine()}`);

  // The explorer's aggregates, as GET /api/v1/audit/facets and /histogram run them.
  let worstExplore = 0;
  console.log(
    "\n| facets (9 fields, top 8 values, newest ≤ 50,000 matching rows) | rows scanned | complete | queries | ms (median) | goal |",
  );
  console.log("|---|---:|---|---:|---:|---|");
  for (const c of pick(facetCases(newestTs))) {
    const filter = exploreFilter(c.filter);
    // Untimed first call, through the recorder: the result's scope and how many queries it ran.
    const recorder = recording(pool);
    const result = await auditFacets(recorder.db, filter);
    const t = await timed(() => auditFacets(pool, filter), RUNS);
    worstExplore = Math.max(worstExplore, t.ms);
    console.log(
      `| ${c.label} | ${fmt(result.scanned)} | ${result.complete ? "yes" : "no"} | ${recorder.statements.length} | ${cell(t, RUNS)} | ${verdict(t.ms < GOAL_MS)} |`,
    );
    if (t.ms >= GOAL_MS) {
      slow.push({
        what: `facets: ${c.label}`,
        ms: t.ms,
        plan: await plansOf(pool, (q) => auditFacets(q, filter), t.ms),
      });
    }
  }
  console.log("\n| histogram by reason | bucket | events counted | ms (median) | goal |");
  console.log("|---|---:|---:|---:|---|");
  for (const c of pick(histogramCases(newestTs))) {
    const filter = exploreFilter(c.filter);
    const result = await auditHistogram(pool, filter);
    const counted = result.buckets.reduce((n, b) => n + b.total, 0);
    const t = await timed(() => auditHistogram(pool, filter), RUNS);
    worstExplore = Math.max(worstExplore, t.ms);
    console.log(
      `| ${c.label} | ${fmt(result.bucketSeconds)} s | ${fmt(counted)} | ${cell(t, RUNS)} | ${verdict(t.ms < GOAL_MS)} |`,
    );
    if (t.ms >= GOAL_MS) {
      slow.push({
        what: `histogram: ${c.label}`,
        ms: t.ms,
        plan: await plansOf(pool, (q) => auditHistogram(q, filter), t.ms),
      });
    }
  }
  console.log(
    `goal: every explorer aggregate < ${GOAL_MS} ms → worst ${fmt(worstExplore, 1)} ms ${verdict(worstExplore < GOAL_MS)}`,
  );
  console.log(`load average after the explorer's aggregates: ${loadLine()}`);

  // The overview: what GET /api/v1/audit/stats runs (app/_lib/audit/get-audit-stats.ts).
  console.log(
    `\n| overview query (windows ending at the newest event, ${newestTs.toISOString()}) | window | tenant | tester | ms (median) | goal |`,
  );
  console.log("|---|---|---|---|---:|---|");
  let worstOverview = 0;
  for (const window of ["hour", "day"] as const) {
    for (const [tenant, includeTester] of [
      [undefined, false],
      ["tenant-0", false],
      [undefined, true],
    ] as const) {
      // The windows GET /api/v1/audit/stats asks for (app/_lib/audit/get-audit-stats.ts), as
      // they are at the newest event: the generated data ends at load time, so windows ending
      // now would hold less of it (the last hour none at all, on a reused database).
      const { since, until, bucketSeconds, topSince } = overviewWindow(window, newestTs);
      const queries: Array<[string, (q: Queryable) => Promise<unknown>]> = [
        ["timeline", (q) => auditTimeline(q, { tenant, since, until, bucketSeconds, includeTester })],
        ["top rejected origins", (q) => topRejectedOrigins(q, { tenant, since: topSince, limit: 10, includeTester })],
      ];
      for (const [label, run] of queries) {
        const t = await timed(() => run(pool), RUNS);
        worstOverview = Math.max(worstOverview, t.ms);
        const what = `${label} | ${window} | ${tenant ?? "all"} | ${includeTester ? "included" : "left out"}`;
        console.log(`| ${what} | ${cell(t, RUNS)} | ${verdict(t.ms < GOAL_MS)} |`);
        if (t.ms >= GOAL_MS) slow.push({ what: `overview: ${what}`, ms: t.ms, plan: await plansOf(pool, run, t.ms) });
      }
    }
  }
  console.log(
    `goal: every overview query < ${GOAL_MS} ms → worst ${fmt(worstOverview, 1)} ms ${verdict(worstOverview < GOAL_MS)}`,
  );
  console.log(`load average at the end: ${loadLine()}`);
  for (const item of slow) console.log(`\nslow: ${item.what} (${fmt(item.ms, 1)} ms); plan:\n${item.plan}`);
  await pool.end();
}

runBench(main, async () => {
  // Diagnosis: BENCH_KEEP_DB=1 keeps the generated database (its URL is printed) for EXPLAIN by hand.
  if (process.env.BENCH_KEEP_DB === "1" && db) console.log(`kept database: ${db.url}`);
  else await db?.drop();
});

/**
 * False (after saying so) when the Postgres data directory is on this machine and has less
 * free space than the load needs; true otherwise (a remote server's disk cannot be checked
 * from here: said, not guessed).
 */
async function enoughDisk(pool: pg.Pool): Promise<boolean> {
  const need = ROWS * DISK_BYTES_PER_ROW;
  const gib = (n: number) => `${fmt(n / 2 ** 30, 1)} GiB`;
  let dir: string | null = null;
  try {
    const { rows } = await pool.query<{ dir: string }>("select current_setting('data_directory') as dir");
    dir = rows[0]?.dir ?? null;
  } catch {
    // not allowed to read it (not a superuser): cannot check
  }
  if (!dir || !existsSync(dir)) {
    console.log(
      `disk: the Postgres data directory is not on this machine (or not readable); the load needs about ${gib(need)} there — not checked`,
    );
    return true;
  }
  const fs = statfsSync(dir);
  const free = fs.bavail * fs.bsize;
  console.log(`disk: ${gib(free)} free under ${dir} (df); the load needs about ${gib(need)}`);
  if (free < need) {
    console.log(
      `NOT RUN: not enough free disk for ${fmt(ROWS)} events (${gib(need)} needed, ${gib(free)} free). ` +
        "Free some space or run with a smaller BENCH_ROWS.",
    );
    return false;
  }
  return true;
}

/** Generates ROWS events into the migrated database (indexes dropped for the load and rebuilt), and says what it made. */
async function load(pool: pg.Pool): Promise<void> {
  const loadStarted = performance.now();
  // The 31 days' partitions, as the upkeep makes them (the migration made yesterday..+7 only).
  await pool.query(
    "select audit_event_create_partition((now() at time zone 'UTC')::date + g) from generate_series(-31, 0) as g",
  );
  const { rows: indexes } = await pool.query<{ name: string; def: string }>(
    "select indexname as name, replace(indexdef, ' ON ONLY ', ' ON ') as def from pg_indexes where tablename = 'audit_event' and indexname <> 'audit_event_pkey'",
  );
  for (const index of indexes) await pool.query(`drop index "${index.name}"`);
  const client = await pool.connect();
  try {
    await client.query("select setseed(0.42)");
    await client.query("set work_mem = '256MB'");
    for (let first = 1; first <= ROWS; first += CHUNK) {
      await client.query(GENERATE, [ROWS, first, Math.min(ROWS, first + CHUNK - 1)]);
      process.stderr.write(`  generated ${fmt(Math.min(ROWS, first + CHUNK - 1))} rows\r`);
    }
    process.stderr.write("\n");
    await client.query("set maintenance_work_mem = '512MB'");
    for (const index of indexes) await client.query(index.def);
    // Diagnosis: BENCH_EXTRA_SQL="create index ..." tries an index the migrations do not have.
    if (process.env.BENCH_EXTRA_SQL) {
      await client.query(process.env.BENCH_EXTRA_SQL);
      console.log(`extra (diagnosis, not in the migrations): ${process.env.BENCH_EXTRA_SQL}`);
    }
  } finally {
    client.release();
  }
  await pool.query("vacuum analyze audit_event");
  const loadMs = performance.now() - loadStarted;
  const { rows: sizes } = await pool.query<{ rows: string; size: string; partitions: number }>(
    `select (select count(*) from audit_event)::text as rows,
            pg_size_pretty((select sum(pg_total_relation_size(inhrelid)) from pg_inherits where inhparent = 'audit_event'::regclass)::bigint) as size,
            (select count(*)::int from pg_inherits where inhparent = 'audit_event'::regclass) as partitions`,
  );
  const { rows: indexSizes } = await pool.query<{ name: string; size: string }>(
    `select p.relname as name, pg_size_pretty(sum(pg_relation_size(c.oid))::bigint) as size
       from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
      where p.relkind = 'I' and p.relname like 'audit_event%' group by p.relname order by sum(pg_relation_size(c.oid)) desc`,
  );
  console.log(
    `${fmt(Number(sizes[0]!.rows))} events generated and indexed in ${fmt(loadMs / 1000, 1)} s in ${sizes[0]!.partitions} partitions ` +
      `(table + primary key + ${indexes.length} secondary indexes: ${sizes[0]!.size}; ${indexSizes.map((i) => `${i.name.replace(/^audit_event_/, "")} ${i.size}`).join(", ")}); ` +
      `page size ${PAGE}; median of ${RUNS} runs (${DEEP_OFFSET_RUNS} for OFFSET at page 10,000)`,
  );
}

/** What the explorer's new filters find in the data (shares of rows), printed once per run. */
async function describeData(pool: pg.Pool): Promise<void> {
  const { rows } = await pool.query<{
    total: string;
    forward_auth: string;
    tester: string;
    http: string;
    shadow: string;
    addresses: string;
    agents: string;
    paths: string;
  }>(
    `select count(*)::text as total,
            count(*) filter (where via = 'forward_auth')::text as forward_auth,
            count(*) filter (where via = 'tester')::text as tester,
            count(*) filter (where kind in ('http', 'preflight'))::text as http,
            count(*) filter (where shadow_decision is not null)::text as shadow,
            count(distinct remote_addr)::text as addresses, count(distinct user_agent)::text as agents,
            count(distinct path)::text as paths
       from audit_event`,
  );
  const r = rows[0]!;
  const share = (n: string) => `${fmt(Number(n))} (${fmt((100 * Number(n)) / Math.max(1, Number(r.total)), 2)} %)`;
  console.log(
    `data: ${fmt(Number(r.total))} rows; via forward_auth ${share(r.forward_auth)}, via tester ${share(r.tester)}, ` +
      `kinds http/preflight ${share(r.http)}, with a shadow decision ${share(r.shadow)}; ` +
      `${fmt(Number(r.addresses))} client addresses, ${fmt(Number(r.agents))} user agents, ${fmt(Number(r.paths))} paths`,
  );
}
