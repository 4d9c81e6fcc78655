#!/usr/bin/env bash
# Identity, routing and request-id headers a client makes up change nothing: not through the
# gateway, and not straight at a service's port either, because the services believe only the
# bearer token they verify themselves (common/src/http.c) and never a header about the caller.
# That the gateway also drops such headers before a service sees them is proved without a stack
# by gateway/tests/test_gateway_proxy.c (identity headers never reach a service; X-Forwarded-For
# replaced by the peer address unless it is a trusted proxy) and test_forwarding.c (the list).
#
# Needs CRM_GATEWAY_PORT, CRM_AUTH_PORT, CRM_CUSTOMERS_PORT, CRM_CASES_PORT and CRM_VAR; curl, jq.
. "$(dirname "$0")/lib.sh"

: "${CRM_GATEWAY_PORT:?}" "${CRM_AUTH_PORT:?}" "${CRM_CUSTOMERS_PORT:?}" "${CRM_CASES_PORT:?}"
: "${CRM_VAR:?the stack state directory}"
admin_name=${CRM_BOOTSTRAP_ADMIN_USERNAME:-admin}
admin_password=${CRM_BOOTSTRAP_ADMIN_PASSWORD:-$(<"$CRM_VAR/admin-password")}
run=$(openssl rand -hex 3)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gw=$CRM_GATEWAY_PORT

login() {
    http "$gw" POST /api/auth/login -H 'Content-Type: application/json' \
        --data-binary "$(jq -nc --arg u "$1" --arg p "$2" '{username: $u, password: $p}')"
    expect_status 200 "login as $1"
    ACCESS=$(jq -r .access_token <<<"$BODY") ID=$(jq -r .user.id <<<"$BODY")
}
# user ROLE: a new user of ROLE, logged in; sets ACCESS and ID.
user() {
    local name=spoof-$1-$run password=Pw.spoof.$1.$run
    http "$gw" POST /api/auth/register -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
        --data-binary "$(jq -nc --arg u "$name" --arg p "$password" --arg r "$1" '{username: $u, password: $p, role: $r}')"
    expect_status 201 "register $name"
    login "$name" "$password"
}
new_customer() {
    http "$gw" POST /api/customers -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
        --data-binary "{\"name\": \"spoof $run\"}"
    expect_status 201 "create a customer"
    CUSTOMER=$(jq -r .id <<<"$BODY")
}

wait_for 30 curl -sf "http://127.0.0.1:$gw/readyz" || fail "the gateway is not ready"
login "$admin_name" "$admin_password"
admin_token=$ACCESS admin_id=$ID
user agent
agent_token=$ACCESS
user viewer
viewer_token=$ACCESS viewer_id=$ID

# Every header a proxy or an identity-aware gateway might use to say who the caller is, each
# claiming the admin.
admin_claims=(-H "X-User-Id: $admin_id" -H 'X-User-Role: admin' -H "X-User: $admin_name" -H 'X-Role: admin'
    -H "X-Auth-User: $admin_name" -H 'X-Auth-Role: admin' -H "X-Auth-Request-User: $admin_name"
    -H "X-Forwarded-User: $admin_name" -H 'X-Forwarded-Groups: admin' -H "X-Remote-User: $admin_name"
    -H "Remote-User: $admin_name" -H "X-Principal: $admin_name" -H 'X-Consumer-Groups: admin'
    -H "X-Forwarded-Access-Token: $admin_token" -H "X-Jwt-Assertion: $admin_token"
    -H "X-Identity: {\"sub\":\"$admin_id\",\"role\":\"admin\"}" -H 'X-Forwarded-For: 127.0.0.1'
    -H 'X-Real-IP: 127.0.0.1')
checks=0

# ---- an agent or a viewer dressed as the admin ---------------------------------------------------

for port in "$gw" "$CRM_CUSTOMERS_PORT"; do
    new_customer
    http "$port" DELETE "/api/customers/$CUSTOMER" -H "Authorization: Bearer $agent_token" "${admin_claims[@]}"
    expect_problem_status 403 forbidden "an agent deleting a customer with every admin header"
    http "$port" POST /api/customers -H "Authorization: Bearer $viewer_token" -H 'Content-Type: application/json' \
        "${admin_claims[@]}" --data-binary '{"name": "by a viewer"}'
    expect_problem_status 403 forbidden "a viewer creating a customer with every admin header"
    http "$port" DELETE "/api/customers/$CUSTOMER" "${admin_claims[@]}"
    expect_problem_status 401 unauthorized "deleting a customer with every admin header and no token"
    http "$gw" GET "/api/customers/$CUSTOMER" -H "Authorization: Bearer $admin_token"
    expect_status 200 "the customer is still there"
    checks=$((checks + 3))
done
for port in "$gw" "$CRM_CASES_PORT"; do
    http "$port" POST /api/cases -H "Authorization: Bearer $viewer_token" -H 'Content-Type: application/json' \
        "${admin_claims[@]}" --data-binary "{\"customer_id\": \"$CUSTOMER\", \"title\": \"by a viewer\"}"
    expect_problem_status 403 forbidden "a viewer creating a case with every admin header"
    http "$port" GET /api/cases "${admin_claims[@]}"
    expect_problem_status 401 unauthorized "listing cases with every admin header and no token"
    checks=$((checks + 2))
done
for port in "$gw" "$CRM_AUTH_PORT"; do
    http "$port" PATCH "/api/users/$viewer_id" -H "Authorization: Bearer $agent_token" -H 'Content-Type: application/json' \
        "${admin_claims[@]}" --data-binary '{"role": "admin"}'
    expect_problem_status 403 forbidden "an agent promoting a viewer with every admin header"
    http "$port" POST /api/auth/register -H 'Content-Type: application/json' "${admin_claims[@]}" \
        --data-binary "$(jq -nc --arg u "spoof-x-$run" '{username: $u, password: "Pw.spoof.never", role: "admin"}')"
    expect_problem_status 403 forbidden "an anonymous registration as admin with every admin header"
    http "$port" GET /api/auth/me -H "Authorization: Bearer $viewer_token" "${admin_claims[@]}"
    expect_status 200 "me with every admin header"
    [[ $(jq -r '.id + " " + .role' <<<"$BODY") == "$viewer_id viewer" ]] ||
        fail "me with every admin header is not the viewer: $BODY"
    checks=$((checks + 3))
done
http "$gw" GET "/api/users/$viewer_id" -H "Authorization: Bearer $admin_token"
[[ $(jq -r .role <<<"$BODY") == viewer ]] || fail "the viewer was promoted: $BODY"
pass "$checks checks: agents and viewers sending every admin identity header (X-User-Id, X-User-Role, X-Forwarded-User, X-Remote-User, X-Forwarded-Access-Token ...) get 403, without a token 401, through the gateway and at the services' ports"

# ---- the method, the host and the request id are not the client's to rewrite ---------------------

for port in "$gw" "$CRM_CUSTOMERS_PORT"; do
    new_customer
    for override in X-HTTP-Method-Override X-HTTP-Method X-Method-Override; do
        http "$port" GET "/api/customers/$CUSTOMER" -H "Authorization: Bearer $agent_token" -H "$override: DELETE"
        expect_status 200 "a GET with $override: DELETE"
        http "$port" POST "/api/customers/$CUSTOMER" -H "Authorization: Bearer $admin_token" -H "$override: DELETE" \
            -H 'Content-Type: application/json' --data-binary '{}'
        expect_problem_status 405 method-not-allowed "a POST with $override: DELETE"
    done
    http "$gw" GET "/api/customers/$CUSTOMER" -H "Authorization: Bearer $admin_token"
    expect_status 200 "the customer survived the method overrides"
done
for port in "$gw" "$CRM_CUSTOMERS_PORT"; do
    http "$port" POST /api/customers -H "Authorization: Bearer $agent_token" -H 'Content-Type: application/json' \
        -H 'Host: evil.example' -H 'X-Forwarded-Host: evil.example' -H 'X-Forwarded-Proto: https' \
        -H 'Forwarded: host=evil.example;proto=https' -H 'X-Original-URL: /api/users' -H 'X-Rewrite-URL: /api/users' \
        -D "$tmp/headers" --data-binary "{\"name\": \"host $run\"}"
    expect_status 201 "a create with a forged Host"
    location=$(grep -i '^Location:' "$tmp/headers" | cut -d' ' -f2 | tr -d '\r')
    [[ $location =~ ^/api/customers/[0-9a-f]{24}$ ]] || fail "Location after a forged Host is '$location'"
done
pass "method overrides (X-HTTP-Method-Override ...) are ignored, a forged Host or X-Forwarded-Host never reaches Location, X-Original-URL does not reroute"

forged="forged-$run\",\"level\":\"error\",\"msg\":\"injected"
for port in "$gw" "$CRM_CUSTOMERS_PORT"; do
    for id in "$forged" "spaced id $run" "$(printf 'long%.0s' {1..40})-$run" "semi;colon-$run"; do
        http "$port" GET /api/customers -H "Authorization: Bearer $agent_token" -H "X-Request-Id: $id" -D "$tmp/headers"
        expect_status 200 "a list with X-Request-Id '${id:0:40}'"
        answered=$(grep -i '^X-Request-Id:' "$tmp/headers" | cut -d' ' -f2 | tr -d '\r')
        [[ $answered =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] ||
            fail "X-Request-Id '${id:0:40}' was answered with '$answered', not a new UUIDv4"
    done
done
if grep -rF -- "forged-$run" "$CRM_VAR/log" >/dev/null; then
    fail "a refused request id reached a log: $(grep -rF -- "forged-$run" "$CRM_VAR/log" | head -n 2)"
fi
pass "request ids outside [A-Za-z0-9._:-]{1,128} (a JSON break-out, spaces, 164 characters, ';') are replaced by a UUIDv4 and never logged"
