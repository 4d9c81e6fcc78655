#!/usr/bin/env bash
# The authorization matrix: every line of authz_matrix.tsv (an operation of api/openapi.yaml) is
# sent as every kind of caller through the gateway, and must answer the status the table names;
# an answer other than 2xx must be an RFC 9457 problem, a 401 with WWW-Authenticate: Bearer.
# Where a service serves the operation, every cell that must answer 401 is also sent straight to
# the service's port: the services check tokens again (DESIGN.md's defence in depth). Every other
# request passes the gateway unchanged and the service decides, so through the gateway is already
# straight at the service.
#
# The table must cover the contract exactly: an operation of /api/openapi.json (compiled from
# api/openapi.yaml) without a line, or a line for an operation the contract does not have, fails
# the test. The requests of one line go out in one curl process (--next), hundreds of them.
#
# Needs CRM_GATEWAY_PORT, CRM_AUTH_PORT, CRM_CUSTOMERS_PORT, CRM_CASES_PORT and CRM_VAR (ctest
# gives them), curl and jq. By hand, on a stack of deploy/local/stack.sh:
#   CRM_VAR=var CRM_GATEWAY_PORT=8080 CRM_AUTH_PORT=8081 CRM_CUSTOMERS_PORT=8082 \
#       CRM_CASES_PORT=8083 tests/integration/authz_matrix.sh
. "$(dirname "$0")/lib.sh"

: "${CRM_GATEWAY_PORT:?}" "${CRM_AUTH_PORT:?}" "${CRM_CUSTOMERS_PORT:?}" "${CRM_CASES_PORT:?}"
: "${CRM_VAR:?the stack state directory}"
table=$(dirname "$0")/authz_matrix.tsv
admin_name=${CRM_BOOTSTRAP_ADMIN_USERNAME:-admin}
admin_password=${CRM_BOOTSTRAP_ADMIN_PASSWORD:-$(<"$CRM_VAR/admin-password")}
run=$(openssl rand -hex 3)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
roles=(anonymous viewer agent admin disabled refresh)
declare -A port=([gateway]=$CRM_GATEWAY_PORT [auth]=$CRM_AUTH_PORT [customers]=$CRM_CUSTOMERS_PORT
    [cases]=$CRM_CASES_PORT)

# request PORT METHOD PATH TOKEN BODY: one set-up request; sets STATUS and BODY.
request() {
    local args=(-sS --max-time 30 -o "$tmp/body" -X "$2" -w '%{http_code}\n')
    [[ -z $4 ]] || args+=(-H "Authorization: Bearer $4")
    [[ $5 == - ]] || args+=(-H 'Content-Type: application/json' --data-binary "$5")
    : >"$tmp/body"
    read -r STATUS < <(curl "${args[@]}" "http://127.0.0.1:$1$3" || echo 000)
    [[ $STATUS != 000 ]] || fail "$2 $3 on port $1: curl failed"
    BODY=$(<"$tmp/body")
    remember_json "$BODY"
}

# admin_call METHOD PATH BODY EXPECTED: a set-up request through the gateway that must succeed.
admin_call() {
    request "$CRM_GATEWAY_PORT" "$1" "$2" "$admin_token" "$3"
    [[ $STATUS == "$4" ]] || fail "set-up $1 $2 answered $STATUS: $(head -c 300 <<<"$BODY")"
}

# login USERNAME PASSWORD: sets ACCESS and REFRESH.
login() {
    request "$CRM_GATEWAY_PORT" POST /api/auth/login "" "$(jq -nc --arg u "$1" --arg p "$2" '{username: $u, password: $p}')"
    [[ $STATUS == 200 ]] || fail "login as $1 answered $STATUS: $BODY"
    ACCESS=$(jq -r .access_token <<<"$BODY") REFRESH=$(jq -r .refresh_token <<<"$BODY")
}

# user KEY ROLE: a user of ROLE made by the admin and logged in; sets ACCESS, REFRESH and ID.
user() {
    local name=mx-$1-$run password=Pw.matrix.$1.$run
    remember_secret "$password"
    admin_call POST /api/auth/register "$(jq -nc --arg u "$name" --arg p "$password" --arg r "$2" \
        '{username: $u, password: $p, role: $r}')" 201
    ID=$(jq -r .id <<<"$BODY")
    login "$name" "$password"
}

# new_customer, new_case: a record made by the admin; sets NEW_ID.
id_of() { [[ $BODY =~ \"id\":\"([0-9a-f]{24})\" ]] && NEW_ID=${BASH_REMATCH[1]}; }
new_customer() { admin_call POST /api/customers "{\"name\": \"matrix $run $RANDOM\"}" 201 && id_of; }
new_case() { admin_call POST /api/cases "{\"customer_id\": \"$customer\", \"title\": \"matrix $run\"}" 201 && id_of; }

# queue PORT METHOD PATH TOKEN BODY: batch_add (lib.sh) with a bearer token ("" for none) and a
# JSON body ("-" for none).
queue() {
    local options=()
    [[ -z $4 ]] || options+=(-H "Authorization: Bearer $4")
    [[ $5 == - ]] || options+=(-H 'Content-Type: application/json' --data-binary "$5")
    batch_add "$1" "$2" "$3" "${options[@]}"
}

# refresh_token: sets REFRESH to a refresh token of the login user that nothing has used yet:
# one that a login or refresh cell got back (so refresh and logout cells cost no password hash),
# else from eight logins at once.
refresh_pool=()
refresh_token() {
    local i
    if ((${#refresh_pool[@]} == 0)); then
        for i in 1 2 3 4 5 6 7 8; do
            queue "$CRM_GATEWAY_PORT" POST /api/auth/login "" "$login_body"
        done
        batch_run
        for i in "${!ANSWERS[@]}"; do
            [[ ${ANSWERS[i]} == 200* ]] || fail "login as $login_name answered ${ANSWERS[i]}"
            [[ $(<"$tmp/batch.$i") =~ \"refresh_token\":\"([^\"]+)\" ]] || fail "no refresh token in $(<"$tmp/batch.$i")"
            refresh_pool+=("${BASH_REMATCH[1]}")
        done
    fi
    REFRESH=${refresh_pool[-1]}
    unset 'refresh_pool[-1]'
}

# fill TEXT: sets FILLED to TEXT with the placeholders of authz_matrix.tsv replaced for cell
# number $cells.
fill() {
    FILLED=${1//\{unique\}/$run-$cells}
    FILLED=${FILLED//\{user\}/$target_user}
    FILLED=${FILLED//\{customer\}/$customer}
    FILLED=${FILLED//\{case\}/$case_id}
    FILLED=${FILLED//\{login_username\}/$login_name}
    FILLED=${FILLED//\{login_password\}/$login_password}
    if [[ $FILLED == *'{fresh_customer}'* ]]; then
        new_customer
        FILLED=${FILLED//\{fresh_customer\}/$NEW_ID}
    fi
    if [[ $FILLED == *'{fresh_case}'* ]]; then
        new_case
        FILLED=${FILLED//\{fresh_case\}/$NEW_ID}
    fi
    if [[ $FILLED == *'{refresh_token}'* ]]; then
        refresh_token
        FILLED=${FILLED//\{refresh_token\}/$REFRESH}
    fi
}

# ---- the table covers the contract ---------------------------------------------------------

operations() { grep -v '^#' "$table" | grep -v '^[[:space:]]*$' | cut -f1,2 | sed 's/{[a-z_]*}/{id}/g; s/\t/ /' | sort; }
curl -sf --max-time 10 "http://127.0.0.1:$CRM_GATEWAY_PORT/api/openapi.json" >"$tmp/openapi.json" ||
    fail "GET /api/openapi.json failed"
jq -r '.paths | to_entries[] | .key as $path | .value | keys[]
    | select(IN("get", "put", "post", "delete", "patch", "head", "options", "trace"))
    | "\(ascii_upcase) \($path)"' "$tmp/openapi.json" | sed 's/{[a-z_]*}/{id}/g' | sort >"$tmp/contract"
operations >"$tmp/table"
missing=$(comm -23 "$tmp/contract" "$tmp/table")
extra=$(comm -13 "$tmp/contract" "$tmp/table")
[[ -z $missing ]] || fail "operations of api/openapi.yaml without a line in $table: $(tr '\n' ';' <<<"$missing")"
[[ -z $extra ]] || fail "lines of $table for operations api/openapi.yaml does not have: $(tr '\n' ';' <<<"$extra")"
[[ -z $(uniq -d "$tmp/table") ]] || fail "operations listed twice in $table: $(uniq -d "$tmp/table" | tr '\n' ';')"
pass "the table covers the $(wc -l <"$tmp/contract") operations of the contract, and nothing else"

# ---- the callers -------------------------------------------------------------------------------

wait_for 30 curl -sf "http://127.0.0.1:$CRM_GATEWAY_PORT/readyz" || fail "the gateway is not ready"
login "$admin_name" "$admin_password"
admin_token=$ACCESS
declare -A token=([anonymous]="")
user viewer viewer && token[viewer]=$ACCESS
user agent agent && token[agent]=$ACCESS
user disabled agent && token[disabled]=$ACCESS disabled_id=$ID
admin_call PATCH "/api/users/$disabled_id" '{"disabled": true}' 200
token[admin]=$admin_token
token[refresh]=$REFRESH # the disabled agent's: opaque, and not an access token
user target viewer && target_user=$ID
login_name=mx-login-$run login_password=Pw.matrix.login.$run
login_body=$(jq -nc --arg u "$login_name" --arg p "$login_password" '{username: $u, password: $p}')
remember_secret "$login_password"
admin_call POST /api/auth/register "$(jq -nc --arg u "$login_name" --arg p "$login_password" '{username: $u, password: $p}')" 201
new_customer && customer=$NEW_ID
new_case && case_id=$NEW_ID

# ---- the cells ----------------------------------------------------------------------------------

failures=()
cells=0
while IFS=$'\t' read -r method path service body expected_line; do
    [[ -n $method && $method != \#* ]] || continue
    read -r -a expected <<<"${expected_line//$'\t'/ }"
    ((${#expected[@]} == ${#roles[@]})) || fail "$table: $method $path has ${#expected[@]} statuses for ${#roles[@]} callers"
    case $service in
    gateway) targets=(gateway) ;;
    every) targets=(gateway auth customers cases) ;;
    auth | customers | cases) targets=(gateway "$service") ;;
    *) fail "$table: $method $path names an unknown service '$service'" ;;
    esac
    cell_what=() cell_want=()
    for target in "${targets[@]}"; do
        for i in "${!roles[@]}"; do
            role=${roles[i]}
            # Straight at a service: only the cells that must be refused for their token.
            [[ $target == gateway || ${expected[i]} == 401 ]] || continue
            cells=$((cells + 1))
            fill "$path" && url=$FILLED
            fill "$body" && data=$FILLED
            queue "${port[$target]}" "$method" "$url" "${token[$role]}" "$data"
            cell_what+=("$method $url as $role via $target") cell_want+=("${expected[i]}")
        done
    done
    batch_run
    for n in "${!ANSWERS[@]}"; do
        IFS=$'\t' read -r status type challenge <<<"${ANSWERS[n]}"
        answer=$(<"$tmp/batch.$n")
        what=${cell_what[n]} want=${cell_want[n]}
        if [[ $status == 200 && $answer =~ \"refresh_token\":\"([^\"]+)\" ]]; then
            refresh_pool+=("${BASH_REMATCH[1]}") # unused: a login's, or the rotated one
        fi
        if [[ $status != "$want" ]]; then
            failures+=("$what: expected $want, got $status $(head -c 200 <<<"$answer")")
        elif ((status >= 400)) && [[ $answer != *"\"status\":$status"* || $answer != *'"type":"/problems/'* ]]; then
            failures+=("$what: $status without a problem body: $(head -c 200 <<<"$answer")")
        elif ((status >= 400)) && [[ $type != application/problem+json* ]]; then
            failures+=("$what: $status with Content-Type '$type'")
        elif [[ $status == 401 && $challenge != Bearer* ]]; then
            failures+=("$what: 401 without WWW-Authenticate: Bearer")
        fi
    done
done <"$table"

if ((${#failures[@]})); then
    printf 'FAIL: %s\n' "${failures[@]}" >&2
    fail "${#failures[@]} of $cells cells of the authorization matrix answered otherwise"
fi
pass "authorization matrix: $cells cells ($(operations | wc -l) operations x ${#roles[@]} callers through the gateway, and every 401 cell straight at the serving process too) answered as the table says"
