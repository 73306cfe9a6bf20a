-- wrk script for bench/orders.sh: POST /api/v1/pay/wechat/notify with real, signed WeChat
-- Pay notifications of paid orders (NOTIFICATIONS_FILE: one per line, tab-separated
-- timestamp, nonce, signature, serial, body), as WeChat's duplicates: each is verified,
-- decrypted, matched against its payment and answered 204.
local thread_count = 0

function setup(thread)
  thread:set("thread_no", thread_count)
  thread_count = thread_count + 1
end

local requests = {}
local next_index = 0

function init(args)
  for line in io.lines(os.getenv("NOTIFICATIONS_FILE")) do
    local ts, nonce, signature, serial, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    if body then
      requests[#requests + 1] = wrk.format("POST", "/api/v1/pay/wechat/notify", {
        ["Content-Type"] = "application/json",
        ["Wechatpay-Timestamp"] = ts,
        ["Wechatpay-Nonce"] = nonce,
        ["Wechatpay-Signature"] = signature,
        ["Wechatpay-Serial"] = serial,
        ["Wechatpay-Signature-Type"] = "WECHATPAY2-SHA256-RSA2048",
      }, body)
    end
  end
  -- Threads start at different places so they rarely touch the same payment at once.
  next_index = math.floor(#requests * thread_no / 2)
end

function request()
  next_index = next_index + 1
  return requests[(next_index % #requests) + 1]
end
