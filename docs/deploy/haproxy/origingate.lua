-- OriginGate forward auth for HAProxy (2.5+, Lua 5.3): an auth-request action that asks an
-- OriginGate gateway (`/authz/<tenant>`, SPEC §5.1) about every request, with HAProxy's
-- own non-blocking HTTP client (core.httpclient), so the event loop never waits on it.
--
-- Usage (see haproxy.cfg next to this file, which is the configuration the tests run):
--   global
--       lua-load /etc/haproxy/origingate.lua
--   frontend ...
--       http-request lua.origingate-authz <gateway host:port> <tenant>
--       http-request deny deny_status 401 if { var(txn.og_status) -m int 401 }
--       http-request deny deny_status 403 unless { var(txn.og_status) -m int 200 }
--       http-request use-service lua.origingate-preflight if { var(txn.og_preflight) -m bool }
--
-- The action forwards what the decision needs (Origin, Cookie, Authorization,
-- Sec-WebSocket-*, Access-Control-Request-*, User-Agent), the original method and URI as
-- X-Forwarded-Method / X-Forwarded-Uri, and X-Forwarded-For with the client address
-- appended (run the gateway with TRUST_PROXY=1 or HAProxy's address). It sets:
--   txn.og_status     the gateway's status (200 allow, 401, 403; 503 when the gateway is
--                     unreachable or not ready: the config above then denies, fail closed)
--   txn.og_reason     X-OriginGate-Reason of the answer
--   txn.og_preflight  true for an allowed CORS preflight (answered by the service below,
--                     never forwarded to the application)
--   txn.og_acao ...   the answer's Access-Control-* and Vary headers, one variable each,
--                     for `http-response set-header` (only those the answer carried)

local ANSWER_HEADERS = {
  ["access-control-allow-origin"] = "txn.og_acao",
  ["access-control-allow-credentials"] = "txn.og_acac",
  ["access-control-expose-headers"] = "txn.og_aceh",
  ["access-control-allow-methods"] = "txn.og_acam",
  ["access-control-allow-headers"] = "txn.og_acah",
  ["access-control-max-age"] = "txn.og_acma",
  ["vary"] = "txn.og_vary",
  ["x-origingate-reason"] = "txn.og_reason",
  ["x-origingate-decision"] = "txn.og_decision",
}

-- What the preflight service answers with, in this order.
local PREFLIGHT_HEADERS = {
  { "Access-Control-Allow-Origin", "txn.og_acao" },
  { "Access-Control-Allow-Credentials", "txn.og_acac" },
  { "Access-Control-Allow-Methods", "txn.og_acam" },
  { "Access-Control-Allow-Headers", "txn.og_acah" },
  { "Access-Control-Max-Age", "txn.og_acma" },
  { "Vary", "txn.og_vary" },
  { "X-OriginGate-Decision", "txn.og_decision" },
}

local FORWARDED = {
  "origin", "cookie", "authorization", "user-agent",
  "sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol", "sec-websocket-extensions",
  "access-control-request-method", "access-control-request-headers",
}

local function authz(txn, gateway, tenant)
  local request = txn.http:req_get_headers()
  local headers = {}
  for _, name in ipairs(FORWARDED) do
    local values = request[name]
    if values ~= nil then
      local list = {}
      -- HAProxy's header tables are indexed from 0.
      for i = 0, #values do
        if values[i] ~= nil then list[#list + 1] = values[i] end
      end
      headers[name] = list
    end
  end
  local method = txn.sf:method()
  local uri = txn.sf:url()
  local client = txn.sf:src()
  local xff = request["x-forwarded-for"]
  local chain = {}
  if xff ~= nil then
    for i = 0, #xff do
      if xff[i] ~= nil then chain[#chain + 1] = xff[i] end
    end
  end
  chain[#chain + 1] = client
  headers["x-forwarded-method"] = { method }
  headers["x-forwarded-uri"] = { uri }
  headers["x-forwarded-for"] = { table.concat(chain, ", ") }

  local ok, response = pcall(function()
    return core.httpclient():get{ url = "http://" .. gateway .. "/authz/" .. tenant, headers = headers }
  end)
  local status = 503
  if ok and response ~= nil and response.status ~= nil and response.status ~= 0 then status = response.status end
  txn:set_var("txn.og_status", status)
  if not ok or response == nil or response.headers == nil then return end
  for name, variable in pairs(ANSWER_HEADERS) do
    local values = response.headers[name]
    if values ~= nil then
      local first = values[0] or values[1]
      if first ~= nil then txn:set_var(variable, first) end
    end
  end
  if status == 200 and method == "OPTIONS" and request["access-control-request-method"] ~= nil then
    txn:set_var("txn.og_preflight", true)
  end
end

core.register_action("origingate-authz", { "http-req" }, authz, 2)

-- Answers an allowed preflight (204, the authorization answer's CORS headers).
core.register_service("origingate-preflight", "http", function(applet)
  applet:set_status(204)
  for _, header in ipairs(PREFLIGHT_HEADERS) do
    local value = applet:get_var(header[2])
    if value ~= nil then applet:add_header(header[1], value) end
  end
  applet:start_response()
end)
