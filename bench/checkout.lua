-- wrk script for bench/orders.sh: POST /api/v1/app/orders, each request a fresh number
-- (one open order per number) on a plan from PLAN_ID, as one of the users in TOKENS_FILE.
-- Numbers are +63917 <RUN digit> <thread digit> <5-digit counter>: distinct across runs.
local thread_count = 0

function setup(thread)
  thread:set("thread_no", thread_count)
  thread_count = thread_count + 1
end

-- PACE_MS: each connection waits this long after an answer before its next checkout, to
-- offer a steady rate below saturation (64 connections and 42 ms: about 1,250/s here).
local pace = tonumber(os.getenv("PACE_MS") or "0")
if pace > 0 then
  function delay()
    return pace
  end
end

local tokens = {}
local plan = os.getenv("PLAN_ID")
local run = os.getenv("RUN") or "1"
local counter = 0

function init(args)
  for line in io.lines(os.getenv("TOKENS_FILE")) do
    tokens[#tokens + 1] = line
  end
end

function request()
  counter = counter + 1
  local phone = string.format("+63917%s%d%05d", run, thread_no, counter % 100000)
  local token = tokens[(counter % #tokens) + 1]
  return wrk.format("POST", "/api/v1/app/orders", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, '{"plan_id":"' .. plan .. '","phone":"' .. phone .. '"}')
end
