-- wrk script for bench/server.sh: POST /v1/checks with one transaction,
-- keep-alive, the API key from the environment (ACEGATE_KEY).
wrk.method = "POST"
wrk.path = "/v1/checks"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("ACEGATE_KEY")
wrk.body = '{"item":{"eccn":"4D004"},"destination":"BR","end_user":{"type":"non_government"},"as_of":"2026-11-24"}'

-- Count answers that are not 200: a benchmark of errors is no benchmark.
local bad = 0
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
