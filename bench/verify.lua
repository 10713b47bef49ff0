-- wrk script: auto-pay verifies from many crawlers against many publishers, each for a new article.
-- AISA_BENCH_SEED names the Lua table the seeder wrote; AISA_BENCH_DELAY_MS, when set, paces each connection.
local seed = dofile(os.getenv("AISA_BENCH_SEED"))
local delay_ms = tonumber(os.getenv("AISA_BENCH_DELAY_MS") or "0")
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  charged = 0
  refused = 0
  math.randomseed(os.time() + id)
end

function request()
  counter = counter + 1
  local token = seed.tokens[math.random(#seed.tokens)]
  local domain = seed.domains[math.random(#seed.domains)]
  local body = '{"publisherDomain":"' .. domain .. '","resourceUrl":"/article/' .. id .. '-' .. counter .. '","crawlerAutoPrice":true}'
  return wrk.format("POST", "/api/v1/access/verify", { ["Content-Type"] = "application/json", ["X-AISA-Crawler-Token"] = token }, body)
end

if delay_ms > 0 then
  -- Uniform around the mean: a fixed wait keeps the connections in step, arriving in bursts of all of them.
  function delay()
    return math.random(0, 2 * delay_ms)
  end
end

function response(status, headers, body)
  if status == 200 then charged = charged + 1 else refused = refused + 1 end
end

function done(summary, latency, requests)
  local c, r = 0, 0
  for _, thread in ipairs(threads) do
    c = c + thread:get("charged")
    r = r + thread:get("refused")
  end
  local seconds = summary.duration / 1e6
  io.write(string.format("charges %d refused %d errors %d seconds %.2f charges_per_s %.0f\n",
    c, r, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, seconds, c / seconds))
  io.write(string.format("latency_ms p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f max %.2f\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000))
end
