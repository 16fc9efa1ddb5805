-- wrk script: searches whose texts never repeat, so no cache (query vectors, results) helps.
-- Usage: wrk ... -s novel.lua URL -- <mode> <queries file> <offset>
-- Each wrk thread walks its own slice of the file from <offset>; a run of a few hundred
-- thousand requests never sends a text twice (the file holds distinct texts, see novel.sh).

local mode, file, offset = "hybrid", nil, 0
local texts = {}
local threads = {}
local counter = 0

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  mode = args[1] or mode
  file = args[2]
  offset = tonumber(args[3] or "0")
  for line in io.lines(file) do texts[#texts + 1] = line end
end

local n = 0
function request()
  -- 20 000 requests per thread before two threads could meet.
  local i = offset + id * 20000 + n
  n = n + 1
  local q = texts[(i % #texts) + 1]
  return wrk.format("GET", "/api/v1/search?q=" .. urlencode(q) .. "&mode=" .. mode .. "&limit=10")
end

function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f non2xx=%d requests=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    (summary.errors.status or 0), summary.requests))
end
