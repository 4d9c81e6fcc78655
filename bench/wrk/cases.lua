-- list cases with a filter: GET /api/cases?customer_id=$BENCH_CUSTOMER_ID&limit=20.
wrk.method = "GET"
wrk.path = "/api/cases?customer_id=" .. os.getenv("BENCH_CUSTOMER_ID") .. "&limit=20"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
