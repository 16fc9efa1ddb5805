-- wrk script: server-rendered product pages, `/p/{id}` over a list of ids (one per line in the
-- file named by the first argument), each request the next id, so the doc cache sees the
-- catalog's spread rather than one hot page.
-- Usage: wrk ... -s pages.lua http://127.0.0.1:18093 -- ids.txt

local paths = {}

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = "/p/" .. line:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end)
  end
end

local n = 0
function request()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end

function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f non2xx=%d requests=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    (summary.errors.status or 0), summary.requests))
end
