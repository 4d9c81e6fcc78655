-- log in: POST /api/auth/login with the JSON body in $BENCH_LOGIN_BODY (one Argon2id check each).
wrk.method = "POST"
wrk.path = "/api/auth/login"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_LOGIN_BODY")
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
