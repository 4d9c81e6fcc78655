#!/usr/bin/env bash
# Limits that keep one client from hurting the others, at the gateway and at a service:
#   - bodies over 1 MiB: 413 problem (with and without Content-Length);
#   - JSON nested deeper than 32: 400 malformed-request (API.md's errors table; 32 levels pass);
#   - strings far over their field's limit: 422 length, answered at once (never hashed, stored);
#   - more than CRM_HTTP_MAX_HEADERS headers: 431 problem; headers or a URL too large for
#     libmicrohttpd: its own 431 or 414 (API.md exempts those from the problem format);
#   - slow clients (slow_clients.c): many connections trickling headers a byte at a time, more
#     than the worker threads, while normal requests must still be answered at once; idle
#     connections closed after CRM_HTTP_CONNECTION_TIMEOUT_SECONDS; more connections than
#     CRM_HTTP_MAX_CONNECTIONS refused or left waiting, and the process answering afterwards. The
#     timeout and connection limit are tried on an extra crm-auth and an extra crm-gateway
#     started here with a 2 s timeout and 16 connections, on ports below the stack's. A client
#     that trickles is never idle, so past the connection limit it would lock everyone out: the
#     extra gateway also has CRM_HTTP_MAX_CONNECTIONS_PER_IP=8, and with 40 trickling clients on
#     127.0.0.1 it must still answer 127.0.0.2 at once.
#
# Usage: limits.sh SLOW_CLIENTS_BINARY. Needs the stack's CRM_* ports, CRM_VAR, CRM_BIN_DIR and
# CRM_MONGO_URI (ctest gives them); curl, jq.
. "$(dirname "$0")/lib.sh"

slow=${1:?usage: limits.sh SLOW_CLIENTS_BINARY}
[[ -x $slow ]] || fail "$slow is not built"
: "${CRM_GATEWAY_PORT:?}" "${CRM_AUTH_PORT:?}" "${CRM_CUSTOMERS_PORT:?}" "${CRM_CASES_PORT:?}"
: "${CRM_VAR:?}" "${CRM_BIN_DIR:?}" "${CRM_MONGO_URI:?}"
admin_name=${CRM_BOOTSTRAP_ADMIN_USERNAME:-admin}
admin_password=${CRM_BOOTSTRAP_ADMIN_PASSWORD:-$(<"$CRM_VAR/admin-password")}
run=$(openssl rand -hex 3)
tmp=$(mktemp -d)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
gw=$CRM_GATEWAY_PORT
json=(-H 'Content-Type: application/json')

wait_for 30 curl -sf "http://127.0.0.1:$gw/readyz" || fail "the gateway is not ready"
http "$gw" POST /api/auth/login "${json[@]}" \
    --data-binary "$(jq -nc --arg u "$admin_name" --arg p "$admin_password" '{username: $u, password: $p}')"
expect_status 200 "login as the admin"
token=$(jq -r .access_token <<<"$BODY")
auth=(-H "Authorization: Bearer $token")
http "$gw" POST /api/customers "${auth[@]}" "${json[@]}" --data-binary "{\"name\": \"limits $run\"}"
expect_status 201 "a customer"
customer=$(jq -r .id <<<"$BODY")

# The POST routes of each process: the gateway's, then each service's own.
declare -A create=([$gw]=/api/customers [$CRM_CUSTOMERS_PORT]=/api/customers [$CRM_CASES_PORT]=/api/cases
    [$CRM_AUTH_PORT]=/api/auth/login)
ports=("$gw" "$CRM_AUTH_PORT" "$CRM_CUSTOMERS_PORT" "$CRM_CASES_PORT")
alive() {
    local port
    for port in "${ports[@]}"; do
        [[ $(http_status "http://127.0.0.1:$port/healthz") == 200 ]] || fail "port $port stopped answering after $1"
    done
}

# ---- bodies ----------------------------------------------------------------------------------

{ printf '{"name": "'; head -c $((1024 * 1024)) /dev/zero | tr '\0' 'a'; printf '"}'; } >"$tmp/over.json"
for port in "${ports[@]}"; do
    path=${create[$port]}
    http "$port" POST "$path" "${auth[@]}" "${json[@]}" --data-binary "@$tmp/over.json"
    expect_problem_status 413 payload-too-large "1 MiB + 12 bytes with Content-Length to port $port"
    http "$port" POST "$path" "${auth[@]}" "${json[@]}" -H 'Transfer-Encoding: chunked' --data-binary "@$tmp/over.json"
    expect_problem_status 413 payload-too-large "1 MiB + 12 bytes chunked, without Content-Length, to port $port"
done
alive "the large bodies"
pass "bodies over 1 MiB -> 413 payload-too-large at the gateway and each service, with Content-Length or chunked"

# ---- nesting and long strings ----------------------------------------------------------------------

nested() { printf '%*s' "$1" '' | tr ' ' '['; printf '%*s' "$1" '' | tr ' ' ']'; } # N nested arrays
deep_bodies=("{\"customer_id\": \"$customer\", \"title\": $(nested 32)}" "{\"name\": $(nested 32)}")
{ printf '{"x": '; nested 100000; printf '}'; } >"$tmp/deepest.json"
ok_bodies=("{\"customer_id\": \"$customer\", \"title\": $(nested 31)}" "{\"name\": $(nested 31)}")
for port in "$gw" "$CRM_CUSTOMERS_PORT" "$CRM_CASES_PORT" "$CRM_AUTH_PORT"; do
    case $port in
    "$CRM_CASES_PORT") path=/api/cases deep=${deep_bodies[0]} ok=${ok_bodies[0]} field=title ;;
    "$CRM_AUTH_PORT") path=/api/auth/register deep="{\"username\": $(nested 32)}" ok="{\"username\": $(nested 31)}" field=username ;;
    *) path=/api/customers deep=${deep_bodies[1]} ok=${ok_bodies[1]} field=name ;;
    esac
    http "$port" POST "$path" "${auth[@]}" "${json[@]}" --data-binary "$deep"
    expect_problem_status 400 malformed-request "33 levels of nesting to port $port $path"
    http "$port" POST "$path" "${auth[@]}" "${json[@]}" --data-binary "$ok"
    expect_problem_status 422 validation "32 levels of nesting to port $port $path (well-formed, the wrong type)"
    [[ $BODY == *"\"field\":\"$field\",\"code\":\"type\""* ]] || fail "32 levels: not a type error on $field: $BODY"
    http "$port" POST "$path" "${auth[@]}" "${json[@]}" --data-binary "@$tmp/deepest.json"
    expect_problem_status 400 malformed-request "100000 levels of nesting to port $port $path"
done
pass "JSON nested deeper than 32 -> 400 malformed-request (API.md's errors table) at the gateway and each service, 100,000 levels too; 32 levels parse"

megabyte=$(head -c 1000000 /dev/zero | tr '\0' 'x')
long=("$CRM_CUSTOMERS_PORT /api/customers name {\"name\": \"$megabyte\"}"
    "$CRM_CASES_PORT /api/cases description {\"customer_id\": \"$customer\", \"title\": \"t\", \"description\": \"$megabyte\"}"
    "$CRM_AUTH_PORT /api/auth/register password {\"username\": \"long-$run\", \"password\": \"$megabyte\"}"
    "$CRM_AUTH_PORT /api/auth/login password {\"username\": \"$admin_name\", \"password\": \"$megabyte\"}"
    "$CRM_AUTH_PORT /api/auth/register username {\"username\": \"$megabyte\", \"password\": \"Pw.limits.never\"}")
for entry in "${long[@]}"; do
    read -r port path field body <<<"$entry"
    printf '%s' "$body" >"$tmp/long.json"
    for target in "$gw" "$port"; do
        http "$target" POST "$path" "${auth[@]}" "${json[@]}" --data-binary "@$tmp/long.json"
        expect_problem_status 422 validation "a 1,000,000-character $field to port $target $path"
        [[ $BODY == *"\"field\":\"$field\",\"code\":\"length\""* ]] || fail "the 1,000,000-character $field: not a length error: $BODY"
    done
done
http "$gw" GET "/api/customers?q=$(head -c 8000 /dev/zero | tr '\0' q)" "${auth[@]}"
expect_problem_status 400 bad-parameter "q of 8000 characters"
alive "the long strings"
pass "strings of 1,000,000 characters (name, description, password on register and login, username) -> 422 length at the gateway and each service; q of 8000 -> 400"

# ---- headers ----------------------------------------------------------------------------------------

many=()
for i in $(seq 1 150); do many+=(-H "X-Filler-$i: $i"); done
large=$(head -c 40000 /dev/zero | tr '\0' 'h')
for port in "${ports[@]}"; do
    http "$port" GET /healthz "${many[@]}"
    expect_problem_status 431 headers-too-large "150 headers to port $port"
    http "$port" GET /healthz -H "X-Large: $large"
    expect_status 431 "a 40 KB header to port $port (libmicrohttpd's own answer)"
    http "$port" GET "/healthz?$(head -c 100000 /dev/zero | tr '\0' u)"
    [[ $STATUS == 414 || $STATUS == 431 ]] || fail "a 100 KB request target to port $port answered $STATUS, not 414 or 431"
done
alive "the oversized headers"
pass "150 headers -> 431 problem (CRM_HTTP_MAX_HEADERS is 100); a 40 KB header -> 431 and a 100 KB target -> $STATUS from libmicrohttpd, at the gateway and each service, which keep answering"

# ---- slow and idle clients ---------------------------------------------------------------------------

# Many slow clients on the stack's own gateway and customers service at once, more than their
# worker threads (4 per core).
workers=$(($(nproc) * 4))
slow_clients=$((workers * 8 > 64 ? workers * 8 : 64))
"$slow" trickle "$gw" "$slow_clients" 3 >"$tmp/trickle.gateway" 2>&1 &
trickle_gw=$!
"$slow" trickle "$CRM_CUSTOMERS_PORT" "$slow_clients" 3 >"$tmp/trickle.customers" 2>&1 || fail "customers: $(<"$tmp/trickle.customers")"
wait "$trickle_gw" || fail "gateway: $(<"$tmp/trickle.gateway")"
printf 'ok: gateway: %s\nok: customers: %s\n' "$(cut -d' ' -f2- "$tmp/trickle.gateway")" "$(cut -d' ' -f2- "$tmp/trickle.customers")"

# An extra crm-auth and crm-gateway with a 2 s idle timeout and room for 16 connections.
free_port() {
    local port
    for ((port = CRM_GATEWAY_PORT - 40; port < CRM_GATEWAY_PORT - 20; port++)); do
        [[ " $* " != *" $port "* ]] || continue
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return 0; }
    done
    fail "no free port in $((CRM_GATEWAY_PORT - 40))..$((CRM_GATEWAY_PORT - 21))"
}
small=(CRM_HTTP_CONNECTION_TIMEOUT_SECONDS=2 CRM_HTTP_MAX_CONNECTIONS=16 CRM_HTTP_THREADS=2
    CRM_JWT_PRIVATE_KEY_FILE="${CRM_JWT_PRIVATE_KEY_FILE:-$CRM_VAR/keys/jwt.pem}"
    CRM_JWT_PUBLIC_KEY_FILES="${CRM_JWT_PUBLIC_KEY_FILES:-$CRM_VAR/keys/jwt.pub}"
    CRM_BOOTSTRAP_ADMIN_PASSWORD="$admin_password")
extra_auth=$(free_port)
extra_gateway=$(free_port "$extra_auth")
# Their logs join the stack's, so that no_secrets_in_logs.sh reads them too.
env "${small[@]}" CRM_AUTH_PORT="$extra_auth" "$CRM_BIN_DIR/crm-auth" >>"$CRM_VAR/log/limits-auth.log" 2>&1 &
pids+=($!)
env "${small[@]}" CRM_GATEWAY_PORT="$extra_gateway" CRM_HTTP_MAX_CONNECTIONS_PER_IP=8 "$CRM_BIN_DIR/crm-gateway" >>"$CRM_VAR/log/limits-gateway.log" 2>&1 &
pids+=($!)
for port in "$extra_auth" "$extra_gateway"; do
    wait_for 30 curl -sf "http://127.0.0.1:$port/readyz" ||
        fail "the extra instance on port $port did not get ready: $(tail -n 5 "$CRM_VAR"/log/limits-*.log)"
done
{ "$slow" idle "$extra_auth" 12 2 && "$slow" flood "$extra_auth" 48 2; } >"$tmp/small.auth" 2>&1 &
small_auth=$!
pids+=("$small_auth")
{ "$slow" idle "$extra_gateway" 8 2 && "$slow" per-address "$extra_gateway" 40 2 &&
    "$slow" flood "$extra_gateway" 48 2; } >"$tmp/small.gateway" 2>&1 || fail "crm-gateway with a 2 s timeout, 16 connections, 8 per address: $(<"$tmp/small.gateway")"
wait "$small_auth" || fail "crm-auth with a 2 s timeout and 16 connections: $(<"$tmp/small.auth")"
sed 's/^ok: /ok: crm-auth (2 s, 16 connections): /' "$tmp/small.auth"
sed 's/^ok: /ok: crm-gateway (2 s, 16 connections, 8 per address): /' "$tmp/small.gateway"
for port in "$extra_auth" "$extra_gateway"; do
    [[ $(http_status "http://127.0.0.1:$port/healthz") == 200 ]] || fail "the extra instance on port $port died"
done
alive "the slow clients"
pass "slow clients: the stack's gateway and customers answer normal requests at once while $slow_clients clients trickle headers; the small instances close idle connections after their timeout and survive a flood past their connection limit; a limit per address keeps a trickling client from locking others out"
