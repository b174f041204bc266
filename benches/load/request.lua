-- wrk script: sends the method, headers and body given in the environment (BENCH_METHOD,
-- BENCH_HEADERS as "Name: value" lines, BENCH_BODY_FILE) and counts non-2xx answers.
wrk.method = os.getenv("BENCH_METHOD") or "GET"
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end
local body_file = os.getenv("BENCH_BODY_FILE")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "r"))
  wrk.body = f:read("*a")
  f:close()
end

local failures = 0
response = function(status, headers, body)
  if status < 200 or status >= 300 then
    failures = failures + 1
    if failures == 1 then io.stderr:write("first failure: " .. status .. " " .. body .. "\n") end
  end
end

done = function(summary, latency, requests)
  local p99 = latency:percentile(99) / 1000
  io.write(string.format("RESULT req_per_s=%.1f p99_ms=%.1f requests=%d non2xx=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), p99, summary.requests,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
