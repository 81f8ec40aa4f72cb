-- wrk script for bench/load.py's requests file: two lines per request, form body and
-- X-Twilio-Signature, sent in turn. Prints one JSON line with the counts and latencies.
--   wrk -t1 -c32 -d5s -s bench/wrk.lua http://127.0.0.1:PORT/webhooks/twilio -- FILE

local requests = {}
local next_index = 0

function init(args)
  local file = assert(io.open(args[1], "r"))
  while true do
    local body = file:read("*l")
    local signature = file:read("*l")
    if not body or not signature then break end
    requests[#requests + 1] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = signature,
    }, body)
  end
  file:close()
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end

function done(summary, latency, _)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "non_2xx": %d, '
      .. '"p50_us": %d, "p99_us": %d, "mean_us": %d}\n',
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
