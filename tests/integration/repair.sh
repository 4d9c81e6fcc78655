#!/usr/bin/env bash
# Killing parts with SIGKILL, then `make up` on the test's own CRM_VAR and ports brings them back
# and the services recover their database connection by themselves.
. "$(dirname "$0")/lib.sh"
victims=(ferretdb customers)
for part in "${victims[@]}"; do
    pid=$(<"$CRM_VAR/run/$part.pid")
    kill -KILL "$pid"
    wait_for 10 bash -c "! kill -0 $pid" || fail "$part (pid $pid) survived SIGKILL"
done
[[ $(http_status "http://127.0.0.1:$CRM_CUSTOMERS_PORT/readyz") == 000 ]] || fail "customers still answers"
[[ $(http_status "http://127.0.0.1:$CRM_AUTH_PORT/readyz") == 503 ]] || fail "auth /readyz is not 503 without its database"
pass "killed ${victims[*]}; auth reports its database down"

make -C "$CRM_SOURCE_DIR" up
for port in "$CRM_AUTH_PORT" "$CRM_CUSTOMERS_PORT" "$CRM_CASES_PORT" "$CRM_GATEWAY_PORT"; do
    wait_for 10 curl -sf "http://127.0.0.1:$port/readyz" || fail "port $port not ready after make up"
done
for part in "${victims[@]}"; do
    kill -0 "$(<"$CRM_VAR/run/$part.pid")" || fail "$part not running after make up"
done
pass "make up restarted ${victims[*]}; every part ready again"
