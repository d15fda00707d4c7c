-- wrk script for GET /healthz: the default static request, plus the same per-status counting
-- and summary line as ingest.lua, so both runs pay the same client-side cost per response.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_stats.lua")

function init(args)
  mark_ready()
end
