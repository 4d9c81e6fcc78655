-- create a customer: POST /api/customers (names need not be unique).
wrk.method = "POST"
wrk.path = "/api/customers"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"Bench customer","tags":["bench"],"status":"prospect"}'
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
