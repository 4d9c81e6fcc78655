# The admin's view of the API through the gateway, for the scenario scripts: one request at a
# time, with the status and body in variables. Source it after lib.sh, with CRM_GATEWAY_PORT and
# CRM_VAR set and `tmp` naming a scratch directory.
# shellcheck shell=bash
: "${CRM_GATEWAY_PORT:?}" "${CRM_VAR:?}"
base=http://127.0.0.1:$CRM_GATEWAY_PORT
admin_password=${CRM_BOOTSTRAP_ADMIN_PASSWORD:-$(<"$CRM_VAR/admin-password")}
token=

# api METHOD PATH [JSON]: one request as the admin; sets STATUS and BODY.
api() {
    local method=$1 path=$2 json=${3:-} out=$tmp/out.$BASHPID
    STATUS=$(curl -sS --max-time 30 -o "$out" -w '%{http_code}' -X "$method" \
        -H "Authorization: Bearer $token" ${json:+-H 'Content-Type: application/json' --data-binary "$json"} \
        "$base$path") || STATUS=000
    BODY=$(<"$out")
}

# login: an access token for the bootstrap admin, in `token`.
login() {
    token=$(curl -sS --max-time 30 -H 'Content-Type: application/json' \
        --data-binary "$(jq -nc --arg u "${CRM_BOOTSTRAP_ADMIN_USERNAME:-admin}" --arg p "$admin_password" '{username: $u, password: $p}')" \
        "$base/api/auth/login" | jq -r .access_token)
    [[ -n $token && $token != null ]] || fail "cannot log in as admin"
    remember_secret "$token"
}

# customer_with_cases N: a new customer with N cases; prints its id.
customer_with_cases() {
    local id i
    api POST /api/customers "{\"name\":\"Scenario $RANDOM\"}"
    [[ $STATUS == 201 ]] || fail "POST /api/customers answered $STATUS"
    id=$(jq -r .id <<<"$BODY")
    for ((i = 0; i < $1; i++)); do
        api POST /api/cases "{\"customer_id\":\"$id\",\"title\":\"case $i\"}"
        [[ $STATUS == 201 ]] || fail "POST /api/cases answered $STATUS"
    done
    echo "$id"
}

# case_count CUSTOMER: how many cases the customer still has (every page).
case_count() {
    local n=0 cursor=""
    while :; do
        api GET "/api/cases?customer_id=$1&limit=100${cursor:+&cursor=$cursor}"
        [[ $STATUS == 200 ]] || { echo "error $STATUS"; return; }
        n=$((n + $(jq '.data | length' <<<"$BODY")))
        cursor=$(jq -r '.next_cursor // empty' <<<"$BODY")
        [[ -n $cursor ]] || break
    done
    echo "$n"
}
no_cases() { [[ $(case_count "$1") == 0 ]]; }

delete_customer() {
    api DELETE "/api/customers/$1"
    [[ $STATUS == 204 ]] || fail "DELETE /api/customers/$1 answered $STATUS"
}
