-- wrk script: optional cookie and form POST, and the summary as one JSON line.
--
-- Arguments after `--` on the wrk command line:
--   1: the Cookie header value ("" for none)
--   2: "POST" to send a form, anything else for GET
--   3: the form body for POST; the text {key} is replaced by a fresh random submission key,
--      so each request is a new annotation (as a new browser submission would be).

local cookie = ""
local method = "GET"
local body_template = ""
local counter = 0

function init(args)
  cookie = args[1] or ""
  method = args[2] or "GET"
  body_template = args[3] or ""
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  local headers = {}
  if cookie ~= "" then
    headers["Cookie"] = cookie
  end
  if method == "POST" then
    counter = counter + 1
    local key = string.format("%08x%08x%06x", math.random(0, 0x7fffffff),
      math.random(0, 0x7fffffff), counter)
    local body = body_template:gsub("{key}", key)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return wrk.format("POST", nil, headers, body)
  end
  return wrk.format("GET", nil, headers, nil)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
