-- A mixed workload for wrk through the gateway, as an admin: reads and writes of customers and
-- cases and a call to auth. Every answer's status is tallied per thread and printed at the end
-- ("status <code> <count>"), with the ids of created records written one per line to
-- $CRM_LOAD_IDS.<thread> when CRM_LOAD_IDS is set (so a soak can check that each one exists).
-- Needs CRM_TOKEN and CRM_CUSTOMER_ID (a customer the reads and case creations use).
local token = os.getenv("CRM_TOKEN")
local customer = os.getenv("CRM_CUSTOMER_ID")
local ids_prefix = os.getenv("CRM_LOAD_IDS")
assert(token and customer, "CRM_TOKEN and CRM_CUSTOMER_ID must be set")

local threads = {}
local next_thread = 1

function setup(thread)
   thread:set("thread_number", next_thread)
   next_thread = next_thread + 1
   table.insert(threads, thread)
end

local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
local counter = 0
local ids_file = nil
statuses = {}

function init(args)
   if ids_prefix then
      ids_file = io.open(ids_prefix .. "." .. thread_number, "a")
   end
end

-- Weights out of 20: 7 get one, 3 list customers, 3 create a customer, 2 list cases,
-- 2 create a case, 2 who-am-i, 1 patch a customer's tags.
local plan = { "get", "get", "get", "get", "get", "get", "get", "list", "list", "list",
               "create", "create", "create", "cases", "cases", "case", "case", "me", "me", "patch" }

function request()
   counter = counter + 1
   local kind = plan[(counter % #plan) + 1]
   if kind == "get" then
      return wrk.format("GET", "/api/customers/" .. customer, headers)
   elseif kind == "list" then
      return wrk.format("GET", "/api/customers?limit=20&sort=-created_at", headers)
   elseif kind == "create" then
      local body = string.format('{"name":"Load %d-%d","tags":["load"],"status":"prospect"}',
                                 thread_number, counter)
      return wrk.format("POST", "/api/customers", headers, body)
   elseif kind == "cases" then
      return wrk.format("GET", "/api/cases?customer_id=" .. customer .. "&limit=20", headers)
   elseif kind == "case" then
      local body = string.format('{"customer_id":"%s","title":"Load case %d-%d","priority":"high"}',
                                 customer, thread_number, counter)
      return wrk.format("POST", "/api/cases", headers, body)
   elseif kind == "patch" then
      return wrk.format("PATCH", "/api/customers/" .. customer, headers, '{"tags":["load","vip"]}')
   else
      return wrk.format("GET", "/api/auth/me", headers)
   end
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if status == 201 and ids_file then
      local id = body:match('"id":"([^"]+)"')
      local kind = body:find('"customer_id"', 1, true) and "case" or "customer"
      if id then ids_file:write(kind, " ", id, "\n") ids_file:flush() end
   end
end

function done(summary, latency, requests)
   local total = {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         total[status] = (total[status] or 0) + n
      end
   end
   for status, n in pairs(total) do
      io.write(string.format("status %d %d\n", status, n))
   end
   io.write(string.format("latency_p50_us %d\nlatency_p99_us %d\n",
                          latency:percentile(50), latency:percentile(99)))
end
