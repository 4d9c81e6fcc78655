-- the public, database-free route: GET /api/auth/jwks.json (no token).
wrk.method = "GET"
wrk.path = "/api/auth/jwks.json"
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
