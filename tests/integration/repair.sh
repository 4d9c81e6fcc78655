#!/usr/bin/env bash
# Killing parts with SIGKILL, then `make up` on the test's own CRM_VAR and ports brings them back
# and the services recover their database connection by themselves. With crm-customers killed,
# the gateway answers its routes with a 502/503 problem at once and every other route as before.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/api.sh"
login

answers=
pid=$(<"$CRM_VAR/run/customers.pid")
kill -KILL "$pid"
wait_for 10 bash -c "! kill -0 $pid" || fail "crm-customers (pid $pid) survived SIGKILL"
for path in /api/customers /api/customers/0123456789abcdef01234567; do
    started=$(date +%s%N)
    api GET "$path"
    took=$((($(date +%s%N) - started) / 1000000))
    [[ $STATUS == 502 || $STATUS == 503 ]] || fail "GET $path without crm-customers answered $STATUS"
    [[ $(jq -r .type <<<"$BODY") == /problems/* ]] || fail "GET $path: not a problem: $BODY"
    ((took < 1000)) || fail "GET $path took $took ms without crm-customers"
    echo "GET $path without crm-customers: $STATUS in $took ms"
    answers+=" $STATUS"
done
for path in /api/cases /api/auth/me /api/users; do
    api GET "$path"
    [[ $STATUS == 200 ]] || fail "GET $path answered $STATUS while only crm-customers was down"
done
pass "crm-customers killed: its routes answer problems at once ($answers ), the others 200"

victims=(ferretdb customers)
for part in ferretdb; do
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
