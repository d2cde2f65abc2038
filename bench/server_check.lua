-- wrk script for bench/server.sh: POST /v1/checks with one transaction,
-- keep-alive, the API key from the environment (ACEGATE_KEY).
wrk.method = "POST"
wrk.path = "/v1/checks"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("ACEGATE_KEY")
wrk.body = '{"item":{"eccn":"4D004"},"destination":"BR","end_user":{"type":"non_government"},"as_of":"2026-11-24"}'

-- No response() callback: wrk itself counts answers that are not 2xx
-- ("Non-2xx or 3xx responses", printed by bench/server.sh as non-200), and
-- a callback would make wrk build Lua tables for every answer, taking CPU
-- from the server it shares two cores with.
