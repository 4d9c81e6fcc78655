#!/usr/bin/env bash
# MongoDB (FerretDB) stopped: every service answers 503 problems within about a second instead of
# hanging, /readyz turns 503, and everything recovers by itself once the database is back.
. "$(dirname "$0")/lib.sh"
gateway=http://127.0.0.1:$CRM_GATEWAY_PORT
stack=$CRM_SOURCE_DIR/deploy/local/stack.sh
restore() { "$stack" up >/dev/null 2>&1 || true; }
trap restore EXIT

password=$(<"$CRM_VAR/admin-password")
token=$(curl -sf -XPOST "$gateway/api/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$password\"}" | jq -r .access_token)
[[ -n $token && $token != null ]] || fail "cannot log in before the outage"
remember_secret "$token"

pid=$(<"$CRM_VAR/run/ferretdb.pid")
kill -TERM "$pid"
wait_for 10 bash -c "! kill -0 $pid" || fail "FerretDB did not stop"

# Each call: a 503 problem, answered in well under the 3 s a hang would take.
expect_503() {
    local method=$1 path=$2 body status seconds
    body=$(mktemp)
    read -r status seconds < <(curl -s -o "$body" -w '%{http_code} %{time_total}\n' --max-time 5 \
        -X "$method" "$gateway$path" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' ${3:+-d "$3"})
    [[ $status == 503 ]] || fail "$method $path answered $status without its database: $(cat "$body")"
    [[ $(jq -r .type "$body") == /problems/service-unavailable ]] || fail "$method $path: $(cat "$body")"
    awk -v s="$seconds" 'BEGIN { exit !(s < 2.5) }' || fail "$method $path took $seconds s"
    rm -f "$body"
    pass "$method $path -> 503 in $seconds s"
}
expect_503 GET /api/users
expect_503 POST /api/auth/login "{\"username\":\"admin\",\"password\":\"$password\"}"
expect_503 GET /api/customers
expect_503 POST /api/customers '{"name":"Outage Ltd"}'
expect_503 GET /api/cases

for port in "$CRM_AUTH_PORT" "$CRM_CUSTOMERS_PORT" "$CRM_CASES_PORT"; do
    [[ $(http_status "http://127.0.0.1:$port/readyz") == 503 ]] || fail "port $port /readyz is not 503"
done
pass "/readyz of every service is 503"

"$stack" up >/dev/null
for port in "$CRM_AUTH_PORT" "$CRM_CUSTOMERS_PORT" "$CRM_CASES_PORT"; do
    wait_for 15 curl -sf "http://127.0.0.1:$port/readyz" || fail "port $port did not recover"
done
[[ $(curl -s -o /dev/null -w '%{http_code}' "$gateway/api/customers" -H "Authorization: Bearer $token") == 200 ]] ||
    fail "customers did not answer 200 after the database came back"
pass "every service recovered without a restart"
