-- Shared by healthz.lua and ingest.lua (loaded with dofile): numbers each wrk thread, counts
-- every response by status in response(), and prints one machine-readable line in done():
--
--   BENCH requests=… rps=… window_rps=… window_ms=… skew_ms=… p50_us=… p99_us=… n202=…
--         non2xx=… statuses=200:…,… sent=… wrapped=… loaded=… err_connect=… …
--
-- Why a "window": wrk runs each thread's init() just before starting that thread, so with a
-- slow init() (ingest.lua loads its pre-signed requests there) thread 0 is already sending
-- while thread 1 still loads, and wrk's own req/s counts those requests but not that time.
-- So each thread notes when its init() ended (mark_ready) and stamps each good response (202
-- for ingest, any 2xx otherwise) into 1 ms buckets of the monotonic clock; done() counts only
-- the responses from the moment the last thread was ready to the last response of the first
-- thread to stop: `window_rps`. `skew_ms` is how long one thread ran before all did (wrk's
-- latency percentiles include that stretch).
--
-- `sent` is how many requests request() handed out (ingest only; -1 otherwise; wrk also
-- calls it once to check the script), `loaded` how many distinct pre-signed requests the
-- threads held, `wrapped` how many times a thread ran out and started over (which would
-- repeat delivery ids: must be 0).

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
]]
local timespec = ffi.new("bench_timespec")
local CLOCK_MONOTONIC = 1

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000 + math.floor(tonumber(timespec.tv_nsec) / 1000000)
end

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Per-thread globals (each wrk thread has its own Lua state).
statuses = {}
buckets = {}          -- ms -> good responses
ready_ms, last_ms = -1, -1
good_status = nil     -- nil: any 2xx; ingest.lua sets 202
sent, wrapped, loaded = -1, 0, 0

-- Call at the end of init(); healthz.lua's init() does only this.
function mark_ready()
  ready_ms = now_ms()
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == good_status or (good_status == nil and status >= 200 and status < 300) then
    local t = now_ms()
    last_ms = t
    buckets[t] = (buckets[t] or 0) + 1
  end
end

function done(summary, latency, requests)
  local agg, total_sent, total_wrapped, total_loaded = {}, 0, 0, 0
  local start_ms, stop_ms, earliest_ms, every_thread = nil, nil, nil, #threads > 0
  local all_buckets = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do
      agg[status] = (agg[status] or 0) + n
    end
    total_sent = total_sent + t:get("sent")
    total_wrapped = total_wrapped + t:get("wrapped")
    total_loaded = total_loaded + t:get("loaded")
    local ready, last = t:get("ready_ms"), t:get("last_ms")
    if ready < 0 or last < 0 then
      every_thread = false -- a thread never got ready or never got a good response: no window
    else
      start_ms = math.max(start_ms or ready, ready)
      stop_ms = math.min(stop_ms or last, last)
      earliest_ms = math.min(earliest_ms or ready, ready)
    end
    table.insert(all_buckets, t:get("buckets"))
  end
  local window_count, window_ms, window_rps, skew_ms = 0, 0, 0, -1
  if every_thread and stop_ms >= start_ms then
    for _, b in ipairs(all_buckets) do
      for ms, n in pairs(b) do
        if ms >= start_ms and ms <= stop_ms then window_count = window_count + n end
      end
    end
    window_ms = stop_ms + 1 - start_ms -- bucket stop_ms is counted whole
    window_rps = window_count / (window_ms / 1000)
    skew_ms = start_ms - earliest_ms
  end
  if total_sent < 0 then total_sent = -1 end
  local keys, parts, non2xx, n2xx = {}, {}, 0, 0
  for status in pairs(agg) do table.insert(keys, status) end
  table.sort(keys)
  for _, status in ipairs(keys) do
    table.insert(parts, status .. ":" .. agg[status])
    if status >= 200 and status < 300 then n2xx = n2xx + agg[status] else non2xx = non2xx + agg[status] end
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f window_rps=%.1f window_ms=%d window_count=%d " ..
    "skew_ms=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "n202=%d n2xx=%d non2xx=%d statuses=%s sent=%d wrapped=%d loaded=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    window_rps, window_ms, window_count, skew_ms,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    agg[202] or 0, n2xx, non2xx, (#parts > 0 and table.concat(parts, ",") or "none"),
    total_sent, total_wrapped, total_loaded,
    e.connect, e.read, e.write, e.timeout))
end
