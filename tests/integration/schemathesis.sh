#!/usr/bin/env bash
# schemathesis against the gateway, driven by api/openapi.yaml: every check (no 5xx, documented
# statuses, content types, response schemas and headers, schema-valid data accepted and invalid
# data refused, authentication, methods, resource life cycles), in every phase (the document's
# examples, boundary values, random data, stateful sequences along the inferred links).
# Fails when schemathesis is missing, when it ran no test case, on any failure or error, and
# when a part of the stack stops answering /readyz afterwards. Prints the number of test cases.
#
# Settings: SCHEMATHESIS_EXAMPLES (test cases per operation and phase, default 10: about 40 s on
# two cores), SCHEMATHESIS_SEED (default fixed, so a run can be repeated), SCHEMATHESIS_REPORT_DIR
# (keep the reports there), SCHEMATHESIS_REPORTS (their formats, default junit,ndjson; `har`
# keeps every request and answer). `make fuzz-api` runs the same with many more test cases.
#
# The run acts as an admin of its own, made here by the bootstrap admin, so that it can reach
# every operation; tests/schemathesis/hooks.py keeps the fuzzer from locking the bootstrap admin
# out (throttled logins, a demotion), since every later test logs in as that one. Customers,
# cases and users made by the fuzzer stay in the stack; no later test counts them.
#
# ctest runs it on the test stack (ctest --test-dir build/release -R schemathesis). By hand:
#   CRM_VAR=var CRM_GATEWAY_PORT=8080 tests/integration/schemathesis.sh
. "$(dirname "$0")/lib.sh"
: "${CRM_GATEWAY_PORT:?the gateway port}" "${CRM_VAR:?the stack state directory}"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/deploy/local/versions.sh"
CRM_CACHE=${CRM_CACHE:-$HOME/.cache/crm}
schemathesis=$CRM_CACHE/python/schemathesis-$SCHEMATHESIS_KEY/bin/schemathesis
[[ -x $schemathesis ]] ||
    fail "schemathesis $SCHEMATHESIS_VERSION is not installed at $schemathesis: run deploy/local/deps.sh (or make deps)"
examples=${SCHEMATHESIS_EXAMPLES:-10}
seed=${SCHEMATHESIS_SEED:-20261126}
base=http://127.0.0.1:$CRM_GATEWAY_PORT
admin_name=${CRM_BOOTSTRAP_ADMIN_USERNAME:-admin}
if [[ -n ${CRM_BOOTSTRAP_ADMIN_PASSWORD:-} ]]; then
    admin_password=$CRM_BOOTSTRAP_ADMIN_PASSWORD
elif [[ -s $CRM_VAR/admin-password ]]; then
    admin_password=$(<"$CRM_VAR/admin-password")
else
    fail "no admin password: set CRM_BOOTSTRAP_ADMIN_PASSWORD or let deploy/local/env.sh write $CRM_VAR/admin-password"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
reports=${SCHEMATHESIS_REPORT_DIR:-$tmp/reports}
mkdir -p "$reports"

# json METHOD PATH BODY [TOKEN]: prints the answer's body; fails unless it is a 2xx.
json() {
    local status
    status=$(curl -sS -o "$tmp/body" -w '%{http_code}' --max-time 30 -X "$1" "$base$2" \
        -H 'Content-Type: application/json' ${4:+-H "Authorization: Bearer $4"} --data-binary "$3") ||
        fail "$1 $2: curl failed (is the gateway up at $base?)"
    [[ $status == 2* ]] || fail "$1 $2 answered $status: $(head -c 400 "$tmp/body")"
    cat "$tmp/body"
}
login() { json POST /api/auth/login "$(jq -nc --arg u "$1" --arg p "$2" '{username: $u, password: $p}')"; }

bootstrap=$(login "$admin_name" "$admin_password")
bootstrap_token=$(jq -r .access_token <<<"$bootstrap")
fuzz_name=schemathesis-$(openssl rand -hex 4)
fuzz_password=$(openssl rand -hex 16)
json POST /api/auth/register \
    "$(jq -nc --arg u "$fuzz_name" --arg p "$fuzz_password" '{username: $u, password: $p, role: "admin"}')" \
    "$bootstrap_token" >/dev/null
fuzz_login=$(login "$fuzz_name" "$fuzz_password")
fuzz_token=$(jq -r .access_token <<<"$fuzz_login")

# Real resources for the fuzzer to aim at: random ids almost always answer 404, so half of the
# ids it sends (paths, customer_id, assigned_to) are drawn from these instead, and changes,
# transitions and deletions of existing customers, cases and users get tested too. The
# committed configuration plus these dictionaries make the run's configuration.
agent_name=schemathesis-agent-$(openssl rand -hex 4)
agent_id=$(json POST /api/auth/register \
    "$(jq -nc --arg u "$agent_name" --arg p "$fuzz_password" '{username: $u, password: $p, role: "agent"}')" \
    "$bootstrap_token" | jq -r .id)
customer_ids=() case_ids=()
for i in 1 2 3 4; do
    customer_ids+=("$(json POST /api/customers "{\"name\": \"schemathesis $i\", \"tags\": [\"fuzz\"]}" "$fuzz_token" | jq -r .id)")
done
for i in 1 2 3 4; do
    case_ids+=("$(json POST /api/cases "$(jq -nc --arg c "${customer_ids[0]}" --arg a "$agent_id" --arg t "case $i" \
        '{customer_id: $c, title: $t, assigned_to: $a}')" "$fuzz_token" | jq -r .id)")
done
toml_list() { printf '%s\n' "$@" | jq -R . | jq -sc .; }
{
    cat "$root/tests/schemathesis/schemathesis.toml"
    cat <<TOML

# ---- made by tests/integration/schemathesis.sh for this run ----
[dictionaries.customer_ids]
values = $(toml_list "${customer_ids[@]}")
[dictionaries.case_ids]
values = $(toml_list "${case_ids[@]}")
[dictionaries.user_ids]
values = $(toml_list "$agent_id" "$(jq -r .user.id <<<"$fuzz_login")")

[[operations]]
include-operation-id = ["getCustomer", "updateCustomer", "deleteCustomer", "listCustomerCases"]
parameters = { "path.id" = { dictionary = "customer_ids", probability = 0.5 } }
[[operations]]
include-operation-id = ["getCase", "updateCase", "deleteCase"]
parameters = { "path.id" = { dictionary = "case_ids", probability = 0.5 } }
[[operations]]
include-operation-id = ["getUser", "updateUser"]
parameters = { "path.id" = { dictionary = "user_ids", probability = 0.5 } }
[[operations]]
include-operation-id = ["createCase"]
parameters = { "body.customer_id" = { dictionary = "customer_ids", probability = 0.5 }, "body.assigned_to" = { dictionary = "user_ids", probability = 0.5 } }
[[operations]]
include-operation-id = ["updateCase"]
parameters = { "body.assigned_to" = { dictionary = "user_ids", probability = 0.5 } }
[[operations]]
include-operation-id = ["listCases"]
parameters = { "query.customer_id" = { dictionary = "customer_ids", probability = 0.5 } }
TOML
} >"$tmp/schemathesis.toml"

export CRM_ST_ADMIN_USERNAME=$admin_name
CRM_ST_ADMIN_ID=$(jq -r .user.id <<<"$bootstrap")
export CRM_ST_ADMIN_ID
export SCHEMATHESIS_HOOKS=hooks PYTHONPATH=$root/tests/schemathesis
# The token is passed through the environment (the config reads ${CRM_ST_TOKEN}), never argv.
export CRM_ST_TOKEN=$fuzz_token
started=$(date +%s)
status=0
(cd "$tmp" && "$schemathesis" --config-file "$tmp/schemathesis.toml" run \
    "$root/api/openapi.yaml" --url "$base" \
    --max-examples "$examples" --seed "$seed" --workers 1 --request-timeout 15 --no-color \
    --report ${SCHEMATHESIS_REPORTS:-junit,ndjson} --report-dir "$reports") >"$tmp/out" 2>&1 || status=$?
elapsed=$(($(date +%s) - started))
cat "$tmp/out"

# The number of test cases from the summary ("Test cases:\n  1234 generated, ...").
cases=$(grep -A1 '^Test cases:' "$tmp/out" | grep -oE '^ *[0-9]+ generated' | grep -oE '[0-9]+' || true)
[[ -n $cases ]] || fail "schemathesis printed no test case count (exit status $status)"
printf 'schemathesis: %s test cases (%s per operation and phase, seed %s) in %s s\n' \
    "$cases" "$examples" "$seed" "$elapsed"
((cases > 0)) || fail "schemathesis ran no test case"
((status == 0)) || fail "schemathesis found failures or errors (exit status $status); see above"

# Hostile input must never take a process down: every part still answers /readyz.
for port in "$CRM_GATEWAY_PORT" "${CRM_AUTH_PORT:-}" "${CRM_CUSTOMERS_PORT:-}" "${CRM_CASES_PORT:-}"; do
    [[ -z $port ]] && continue
    [[ $(http_status "http://127.0.0.1:$port/readyz") == 200 ]] || fail "port $port: /readyz is not 200 after the run"
done
# And the bootstrap admin is still an enabled admin who can log in.
[[ $(login "$admin_name" "$admin_password" | jq -r '.user.role + " " + (.user.disabled | tostring)') == "admin false" ]] ||
    fail "the bootstrap admin changed during the run"
json PATCH "/api/users/$(jq -r .user.id <<<"$(login "$fuzz_name" "$fuzz_password")")" '{"disabled": true}' \
    "$bootstrap_token" >/dev/null
pass "schemathesis: $cases test cases, no failure; every part still ready"
