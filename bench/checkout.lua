-- wrk script for bench/orders.sh: POST /api/v1/app/orders, each request a fresh number
-- (one open order per number) on a plan from PLAN_ID, as one of the users in TOKENS_FILE.
-- Numbers are +63917 <RUN digit> <thread digit> <5-digit counter>: distinct across runs.
-- With COUPONS_FILE (lines "<token> <coupon id>"), each checkout applies a coupon of its own
-- as its owner; thread t of THREADS takes lines t, t + THREADS, …, so none is used twice.
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

local coupons = {}

function init(args)
  for line in io.lines(os.getenv("TOKENS_FILE")) do
    tokens[#tokens + 1] = line
  end
  local coupons_file = os.getenv("COUPONS_FILE")
  if coupons_file then
    local threads = tonumber(os.getenv("THREADS") or "1")
    local index = 0
    for line in io.lines(coupons_file) do
      if index % threads == thread_no then
        local token, coupon = line:match("^(%S+) (%S+)$")
        coupons[#coupons + 1] = { token = token, coupon = coupon }
      end
      index = index + 1
    end
  end
end

function request()
  counter = counter + 1
  local phone = string.format("+63917%s%d%05d", run, thread_no, counter % 100000)
  local token = tokens[(counter % #tokens) + 1]
  local coupon = ""
  if #coupons > 0 then
    -- Past the last coupon a checkout would be refused (the coupon is locked): wrap around
    -- only so wrk keeps running; bench/orders.sh prepares more than a run can use.
    local pick = coupons[((counter - 1) % #coupons) + 1]
    token = pick.token
    coupon = ',"coupon_id":"' .. pick.coupon .. '"'
  end
  return wrk.format("POST", "/api/v1/app/orders", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, '{"plan_id":"' .. plan .. '","phone":"' .. phone .. '"' .. coupon .. '}')
end
