-- wrk script for signed GitHub deliveries: `wrk … -s bench/ingest.lua URL -- PREFIX`.
--
-- PREFIX.K is wrk thread K's share of bench/gen_deliveries.py's output (one delivery a line:
-- delivery-id TAB signature TAB body). Each thread builds its requests once in init() with
-- wrk.format, and request() hands them out in order, so no delivery id is sent twice unless a
-- thread runs out; then it starts over and counts `wrapped`, which the caller treats as a
-- failure. Only 202s (durably stored) count towards the windowed rate.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_stats.lua")

good_status = 202

local reqs = {}
local i = 0

function init(args)
  local prefix = args[1]
  if not prefix then error("usage: wrk … -s ingest.lua URL -- DELIVERIES_PREFIX") end
  local file = prefix .. "." .. id
  local path = wrk.path
  local n = 0
  for line in io.lines(file) do
    n = n + 1
    local delivery, signature, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
    if not delivery then error("malformed line " .. n .. " in " .. file) end
    reqs[n] = wrk.format("POST", path, {
      ["Content-Type"] = "application/json",
      ["User-Agent"] = "GitHub-Hookshot/trmctl-bench",
      ["X-GitHub-Event"] = "issues",
      ["X-GitHub-Delivery"] = delivery,
      ["X-Hub-Signature-256"] = signature,
    }, body)
  end
  if n == 0 then error("thread " .. id .. " got no requests from " .. file) end
  loaded = n
  sent = 0
  mark_ready()
end

function request()
  i = i + 1
  if i > loaded then
    wrapped = wrapped + 1
    i = 1
  end
  sent = sent + 1
  return reqs[i]
end
