-- get one customer: GET /api/customers/$BENCH_CUSTOMER_ID with $BENCH_TOKEN.
wrk.method = "GET"
wrk.path = "/api/customers/" .. os.getenv("BENCH_CUSTOMER_ID")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
