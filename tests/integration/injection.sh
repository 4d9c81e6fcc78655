#!/usr/bin/env bash
# MongoDB operators and hostile ids in every place a client can put them: bodies, query strings,
# paths. Each must be refused as the contract says (422 for a body field, 400 for a query
# parameter or a path id, 404 for a well-formed id that names nothing), never widen a query,
# never reach the database as an operator and never answer 500. `q` must match its characters
# literally. Most of it is sent through the gateway; the services are also asked at their own
# ports, since in Kubernetes they are reachable without it.
#
# The field-by-field validation of each resource (types, lengths, enums, unknown and read-only
# fields) is in auth_api.sh, customers_api.sh and cases_api.sh; this script adds what an attacker
# sends on purpose.
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
checks=0

json=(-H 'Content-Type: application/json')

# send PORT METHOD PATH BODY STATUS SLUG [FIELD]: queues one hostile request as the admin (lib.sh's
# batch) and what it must answer; a 422 must name FIELD as its first error's field. verify sends
# the queue and checks every answer.
expected=()
send() {
    local port=$1 method=$2 path=$3 body=$4
    if [[ $body == - ]]; then
        batch_add "$port" "$method" "$path" -H "$admin_auth"
    else
        batch_add "$port" "$method" "$path" -H "$admin_auth" "${json[@]}" --data-binary "$body"
    fi
    expected+=("$5|$6|${7:-}|$method ${path:0:100} at port $port $body")
}
verify() {
    local n status challenge slug field what
    batch_run
    for n in "${!ANSWERS[@]}"; do
        IFS=$'\t' read -r STATUS TYPE challenge <<<"${ANSWERS[n]}"
        BODY=$(<"$tmp/batch.$n")
        IFS='|' read -r status slug field what <<<"${expected[n]}"
        LAST=$what
        expect_problem_status "$status" "$slug" "$what"
        if [[ $status == 422 ]] && [[ $BODY != *"\"errors\":[{\"field\":\"$field\","* ]]; then
            fail "$what: the first error does not name the field '$field': $BODY"
        fi
        checks=$((checks + 1))
    done
    expected=()
}

wait_for 30 curl -sf "http://127.0.0.1:$gw/readyz" || fail "the gateway is not ready"
http "$gw" POST /api/auth/login "${json[@]}" \
    --data-binary "$(jq -nc --arg u "$admin_name" --arg p "$admin_password" '{username: $u, password: $p}')"
expect_status 200 "login as the admin"
admin_token=$(jq -r .access_token <<<"$BODY") admin_refresh=$(jq -r .refresh_token <<<"$BODY")
admin_id=$(jq -r .user.id <<<"$BODY")
admin_auth="Authorization: Bearer $admin_token"
http "$gw" POST /api/customers -H "$admin_auth" "${json[@]}" --data-binary "{\"name\": \"injection $run\"}"
expect_status 201 "a customer"
customer=$(jq -r .id <<<"$BODY")
http "$gw" POST /api/cases -H "$admin_auth" "${json[@]}" \
    --data-binary "{\"customer_id\": \"$customer\", \"title\": \"injection $run\"}"
expect_status 201 "a case"
case_id=$(jq -r .id <<<"$BODY")

# ---- operators and odd keys in bodies --------------------------------------------------------------

for port in "$gw" "$CRM_CUSTOMERS_PORT"; do
    send "$port" POST /api/customers '{"name": {"$gt": ""}}' 422 validation name
    send "$port" POST /api/customers '{"name": "x", "$where": "sleep(1000) || true"}' 422 validation '$where'
    send "$port" POST /api/customers '{"name": "x", "$set": {"status": "active"}}' 422 validation '$set'
    send "$port" POST /api/customers '{"name": "x", "contact_info.email": "a@example.com"}' 422 validation contact_info.email
    send "$port" POST /api/customers '{"name": "x", "contact_info": {"$set": {"email": "a@example.com"}}}' 422 validation 'contact_info.$set'
    send "$port" POST /api/customers '{"name": "x", "tags": [{"$ne": null}]}' 422 validation 'tags[0]'
    send "$port" POST /api/customers '{"name": "x", "status": {"$in": ["lead", "active"]}}' 422 validation status
    send "$port" POST /api/customers '{"name": "x", "": 1}' 422 validation ''
    send "$port" POST /api/customers '{"name": "x", "na\u0000me": 1}' 400 malformed-request
    send "$port" PATCH "/api/customers/$customer" '{"$set": {"name": "y"}}' 422 validation '$set'
    send "$port" PATCH "/api/customers/$customer" '{"$unset": {"name": ""}}' 422 validation '$unset'
    send "$port" PATCH "/api/customers/$customer" '{"name": {"$regex": ".*"}}' 422 validation name
    send "$port" PATCH "/api/customers/$customer" '{"contact_info": {"email.$": "a@example.com"}}' 422 validation 'contact_info.email.$'
done
for port in "$gw" "$CRM_CASES_PORT"; do
    send "$port" POST /api/cases '{"customer_id": {"$ne": null}, "title": "x"}' 422 validation customer_id
    send "$port" POST /api/cases "{\"customer_id\": \"$customer\", \"title\": {\"\$regex\": \".*\"}}" 422 validation title
    send "$port" POST /api/cases "{\"customer_id\": \"$customer\", \"title\": \"x\", \"assigned_to\": {\"\$ne\": null}}" 422 validation assigned_to
    send "$port" POST /api/cases "{\"customer_id\": \"$customer\", \"title\": \"x\", \"\$where\": \"1\"}" 422 validation '$where'
    send "$port" PATCH "/api/cases/$case_id" '{"status": {"$ne": "closed"}}' 422 validation status
    send "$port" PATCH "/api/cases/$case_id" '{"$set": {"status": "closed"}}' 422 validation '$set'
    send "$port" PATCH "/api/cases/$case_id" '{"customer_id": {"$ne": null}}' 422 validation customer_id
done
for port in "$gw" "$CRM_AUTH_PORT"; do
    # The classic: operators instead of credentials must never log anyone in.
    send "$port" POST /api/auth/login '{"username": {"$ne": null}, "password": {"$ne": null}}' 422 validation username
    send "$port" POST /api/auth/login "$(jq -nc --arg u "$admin_name" '{username: $u, password: {"$gt": ""}}')" 422 validation password
    send "$port" POST /api/auth/login '{"username": {"$regex": "^adm"}, "password": "whatever-password"}' 422 validation username
    send "$port" POST /api/auth/register '{"username": {"$gt": ""}, "password": "Pw.injection.never"}' 422 validation username
    send "$port" POST /api/auth/refresh '{"refresh_token": {"$ne": null}}' 422 validation refresh_token
    send "$port" POST /api/auth/refresh '{"refresh_token": {"$regex": ".*"}}' 422 validation refresh_token
    send "$port" POST /api/auth/logout '{"refresh_token": {"$gt": ""}}' 422 validation refresh_token
    send "$port" PATCH "/api/users/$admin_id" '{"role": {"$ne": "viewer"}}' 422 validation role
    send "$port" PATCH "/api/users/$admin_id" '{"$set": {"role": "viewer"}}' 422 validation '$set'
done
verify
# Had the logout above matched every token, the admin's refresh token would be dead now.
http "$gw" POST /api/auth/refresh "${json[@]}" --data-binary "{\"refresh_token\": \"$admin_refresh\"}"
expect_status 200 "the admin's refresh token survived the operator logouts"
pass "$checks operators and odd keys in bodies (\$gt, \$ne, \$where, \$set, \$regex, dotted and empty keys, NUL) -> 422 naming the field (400 for a NUL in a key), at the gateway and at every service; no operator logs in, refreshes or logs out"

# ---- operators, repeats and JSON in query strings ----------------------------------------------

before=$checks
bad_customers=('status[$ne]=x' 'status%5B%24ne%5D=x' 'email[$regex]=.*' 'q[$regex]=.*' 'tag[$ne]=x'
    'name[$gt]=' 'sort[$natural]=1' 'limit[$gt]=0' '$where=1' 'filter={"$where":"1"}'
    'status=lead&status=active' 'q=a&q=b' 'tag=x&tag=y' 'sort=_id' 'sort=-$natural' 'limit=1e2'
    'cursor={"$gt":""}')
bad_cases=('customer_id[$ne]=x' 'assigned_to[$exists]=true' 'priority[$in]=high' 'status=new&status=open'
    'customer_id={"$ne":null}' 'assigned_to={"$ne":null}' 'customer_id=nope' 'assigned_to=ABCDEF0123456789abcdef01')
bad_users=('role[$ne]=x' 'disabled[$ne]=true' 'role=admin&role=agent' 'username[$regex]=.*' 'role={"$ne":null}')
for port in "$gw" "$CRM_CUSTOMERS_PORT"; do
    for query in "${bad_customers[@]}"; do send "$port" GET "/api/customers?$query" - 400 bad-parameter; done
done
for port in "$gw" "$CRM_CASES_PORT"; do
    for query in "${bad_cases[@]}"; do send "$port" GET "/api/cases?$query" - 400 bad-parameter; done
    send "$port" GET "/api/customers/$customer/cases?status[\$ne]=x" - 400 bad-parameter
done
for port in "$gw" "$CRM_AUTH_PORT"; do
    for query in "${bad_users[@]}"; do send "$port" GET "/api/users?$query" - 400 bad-parameter; done
done
verify
# JSON where a plain value is expected is that plain string: an equality that matches nothing.
for query in 'tag={"$ne":null}' 'q={"$ne":null}' 'tag=$where'; do
    http "$gw" GET "/api/customers?$query" -H "$admin_auth"
    expect_status 200 "?$query"
    [[ $(jq '.data | length' <<<"$BODY") == 0 ]] || fail "?$query matched records: $(head -c 300 <<<"$BODY")"
    checks=$((checks + 1))
done
pass "$((checks - before)) query strings with operators (status[\$ne], email[\$regex], customer_id[\$ne] ...), repeats, JSON and bad ids -> 400 bad-parameter at the gateway and each service; JSON as a filter value is a literal that matches nothing"

# ---- q is a literal -------------------------------------------------------------------------------

before=$checks
http "$gw" POST /api/customers -H "$admin_auth" "${json[@]}" --data-binary "{\"name\": \"hostile .*( [a-z]+ \\\\d $run\"}"
expect_status 201 "a customer named with regex metacharacters"
hostile=$(jq -r .id <<<"$BODY")
# literal Q NEEDLE: ?q=Q (URL-encoded) answers 200 and every customer it lists contains NEEDLE
# (ASCII case-insensitively) in its name or email; prints the ids.
literal() {
    http "$gw" GET "/api/customers?limit=100&q=$(jq -rn --arg q "$1" '$q | @uri')" -H "$admin_auth"
    expect_status 200 "?q=$1"
    jq -e --arg n "$2" 'all(.data[]; ((.name + " " + (.contact_info.email // "")) | ascii_downcase | contains($n | ascii_downcase)))' \
        <<<"$BODY" >/dev/null || fail "?q=$1 lists customers without the literal '$2': $(jq -c '[.data[].name]' <<<"$BODY" | head -c 400)"
    checks=$((checks + 1))
    jq -r '.data[].id' <<<"$BODY"
}
literal ".*( [a-z]+ \\d $run" ".*( [a-z]+ \\d $run" | grep -qx "$hostile" || fail "q with the whole hostile name does not find it"
literal ".*(" ".*(" | grep -qx "$hostile" || fail "q=.*( does not find the customer whose name holds '.*('"
literal ".*" ".*" >/dev/null
for q in '^' '$' '[' '\' '(?i)' 'a{1,100000}' '(a+)+$' '\u0000' '%' '$where' '{"$ne":null}'; do
    literal "$q" "$q" >/dev/null
done
http "$gw" GET "/api/cases?limit=100&q=.%2A" -H "$admin_auth"
expect_status 200 "cases ?q=.*"
jq -e 'all(.data[]; .title | contains(".*"))' <<<"$BODY" >/dev/null || fail "cases ?q=.* lists titles without '.*'"
pass "$((checks - before + 1)) searches: q matches its characters literally (.*(, .*, ^, \$, [, \\, (?i), a{1,100000}, (a+)+\$ ...): q=.* lists only names holding '.*', never everything, and no pattern is an error"

# ---- hostile ids in paths ------------------------------------------------------------------------

before=$checks
absent=000000000000000000000000
bad_ids=(nope 0123456789ABCDEF01234567 0123456789abcdef0123456 0123456789abcdef012345678
    '%24ne' '%7B%22%24ne%22%3A1%7D' "$customer;x")
for port in "$gw" "$CRM_CUSTOMERS_PORT"; do
    for id in "${bad_ids[@]}"; do
        send "$port" GET "/api/customers/$id" - 400 bad-parameter
        [[ $port == "$gw" ]] || continue
        send "$port" PATCH "/api/customers/$id" '{"name": "renamed"}' 400 bad-parameter
        send "$port" DELETE "/api/customers/$id" - 400 bad-parameter
    done
    send "$port" GET "/api/customers/$absent" - 404 not-found
    send "$port" DELETE "/api/customers/$absent" - 404 not-found
    # An encoded NUL once cut the id short: "<id>%00junk" read, changed and deleted <id>.
    for method in GET PATCH DELETE; do
        body=-
        [[ $method != PATCH ]] || body='{"name": "renamed"}'
        send "$port" "$method" "/api/customers/$customer%00" "$body" 400 malformed-request
        send "$port" "$method" "/api/customers/$customer%00junk" "$body" 400 malformed-request
    done
done
for port in "$gw" "$CRM_CASES_PORT"; do
    for id in "${bad_ids[@]}"; do
        send "$port" GET "/api/cases/$id" - 400 bad-parameter
        send "$port" GET "/api/customers/$id/cases" - 400 bad-parameter
    done
    send "$port" GET "/api/cases/$absent" - 404 not-found
    send "$port" GET "/api/customers/$absent/cases" - 404 not-found
    send "$port" DELETE "/api/cases/$case_id%00" - 400 malformed-request
    send "$port" GET "/api/customers/$customer%00/cases" - 400 malformed-request
done
for port in "$gw" "$CRM_AUTH_PORT"; do
    for id in "${bad_ids[@]}"; do send "$port" GET "/api/users/$id" - 400 bad-parameter; done
    send "$port" GET "/api/users/$absent" - 404 not-found
    send "$port" PATCH "/api/users/$admin_id%00" '{"email": null}' 400 malformed-request
done
verify
http "$gw" GET "/api/customers/$customer" -H "$admin_auth"
expect_status 200 "the customer survived the hostile ids"
[[ $(jq -r .name <<<"$BODY") == "injection $run" ]] || fail "the customer was changed through a hostile id: $BODY"
http "$gw" GET "/api/cases/$case_id" -H "$admin_auth"
expect_status 200 "the case survived the hostile ids"
# Ids in bodies: bad syntax is a format error, a well-formed id of nothing a reference error.
send "$gw" POST /api/cases '{"customer_id": "nope", "title": "x"}' 422 validation customer_id
send "$gw" POST /api/cases "{\"customer_id\": \"$absent\", \"title\": \"x\"}" 422 validation customer_id
send "$gw" POST /api/cases "{\"customer_id\": \"$customer\", \"title\": \"x\", \"assigned_to\": \"0123456789ABCDEF01234567\"}" 422 validation assigned_to
send "$gw" POST /api/cases "{\"customer_id\": \"$customer\", \"title\": \"x\", \"assigned_to\": \"$absent\"}" 422 validation assigned_to
verify
pass "$((checks - before)) hostile ids: bad syntax in a path -> 400 bad-parameter, an encoded NUL -> 400 malformed-request, a well-formed unknown id -> 404, in a body -> 422; nothing changed, nothing 500"
echo "injection: $checks checks"
