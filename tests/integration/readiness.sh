#!/usr/bin/env bash
# Every part answers /healthz, /readyz (with its dependencies up) and /metrics.
. "$(dirname "$0")/lib.sh"

check_ready() {
    local name=$1 port=$2 expected_checks=$3 body
    [[ $(http_status "http://127.0.0.1:$port/healthz") == 200 ]] || fail "$name /healthz"
    body=$(curl -sf --max-time 5 "http://127.0.0.1:$port/readyz") || fail "$name /readyz is not 200"
    [[ $(jq -r .status <<<"$body") == ready ]] || fail "$name /readyz status: $body"
    [[ $(jq -c '.checks | keys' <<<"$body") == "$expected_checks" ]] || fail "$name checks: $body"
    [[ $(jq -r '[.checks[]] | all(. == "up")' <<<"$body") == true ]] || fail "$name: $body"
    curl -sf --max-time 5 "http://127.0.0.1:$port/metrics" |
        grep -q "crm_http_requests_total{service=\"$name\",route=\"/readyz\",method=\"GET\",status=\"200\"}" ||
        fail "$name /metrics does not count the /readyz call"
    pass "$name ready: $body"
}

check_ready gateway "$CRM_GATEWAY_PORT" '["auth","cases","customers"]'
check_ready auth "$CRM_AUTH_PORT" '["mongodb"]'
check_ready customers "$CRM_CUSTOMERS_PORT" '["kafka","mongodb"]'
check_ready cases "$CRM_CASES_PORT" '["kafka","mongodb"]'

# Unknown routes are 404 problems carrying the caller's request id.
headers=$(mktemp)
trap 'rm -f "$headers"' EXIT
body=$(curl -s -D "$headers" -H 'X-Request-Id: itest-42' "http://127.0.0.1:$CRM_GATEWAY_PORT/api/nothing-here")
grep -qi '^x-request-id: itest-42' "$headers" || fail "request id not echoed"
grep -qi '^content-type: application/problem+json' "$headers" || fail "404 is not a problem"
[[ $(jq -r '.status, .type, .request_id' <<<"$body" | tr '\n' ' ') == "404 /problems/not-found itest-42 " ]] ||
    fail "404 body: $body"
pass "unknown route: $body"

# The contract is public and is api/openapi.yaml itself.
spec=$(curl -sf "http://127.0.0.1:$CRM_GATEWAY_PORT/api/openapi.json") || fail "/api/openapi.json is not 200"
[[ $(jq -r '.openapi | startswith("3.1")' <<<"$spec") == true ]] || fail "not an OpenAPI 3.1 document"
expected=$(/usr/bin/python3 -c 'import sys, yaml, json; print(json.dumps(sorted(yaml.safe_load(open(sys.argv[1]))["paths"]), separators=(",", ":")))' \
    "$CRM_SOURCE_DIR/api/openapi.yaml")
[[ $(jq -c '.paths | keys' <<<"$spec") == "$expected" ]] || fail "served paths differ from api/openapi.yaml"
pass "/api/openapi.json serves api/openapi.yaml ($(jq '.paths | length' <<<"$spec") paths)"
