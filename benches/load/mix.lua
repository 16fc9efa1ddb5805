-- wrk script: a realistic query mix against /api/v1/search.
-- Usage: wrk ... -s mix.lua http://127.0.0.1:18090 -- <mode>
-- About a third are part numbers and model codes, a third descriptions (Russian, some with
-- typos, transliteration or English), a third filtered or browsing requests, as the site and
-- the bot send them.

local queries = {
  "q=6205-2RS", "q=6205 2rs", "q=SFU1605", "q=1FK7042-5AF71", "q=16К20", "q=16K20",
  "q=VF-2", "q=dmu 50", "q=6Р82", "q=LC1D25", "q=B-1600", "q=NN3018K",
  "q=подшипник шпинделя 16К20", "q=шарико-винтовая пара для VF-2", "q=ремень клиновой главного привода",
  "q=контактор 220 В", "q=швп", "q=подшибник", "q=серводвигатель siemens", "q=сименс мотор подачи",
  "q=хаас шпиндель", "q=ball screw 16 mm pitch 5", "q=spindle bearing", "q=патрон токарный трёхкулачковый",
  "q=насос смазки", "q=энкодер", "q=мотор подачи по оси X", "q=фреза концевая",
  "q=подшипник&kind=spare_part&in_stock=true", "q=станок&kind=product&price_max=3000000",
  "q=&compatible_with=16К20", "q=&kind=spare_part&category=Подшипники",
  "q=ремень&compatible_with=1К62", "q=&brand=Haas", "q=двигатель&price_min=10000&price_max=200000",
  "q=токарный станок с ЧПУ&offset=10",
}

local function urlencode(s)
  return (s:gsub("[^%w%-%._~=&]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local paths = {}
local mode = "hybrid"

function init(args)
  if args[1] then mode = args[1] end
  for i, q in ipairs(queries) do
    paths[i] = "/api/v1/search?" .. urlencode(q) .. "&mode=" .. mode .. "&limit=10"
  end
end

local n = 0
function request()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end

local errors = 0
function response(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f non2xx=%d requests=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    (summary.errors.status or 0), summary.requests))
end
