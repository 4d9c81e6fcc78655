-- list 20 customers, newest first (the default sort): GET /api/customers?limit=20.
wrk.method = "GET"
wrk.path = "/api/customers?limit=20"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
