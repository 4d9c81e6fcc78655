#!/usr/bin/env bash
# make seed (deploy/local/seed.sh) on the test stack, with the first 80 customers and 120 cases of
# its dataset (the full one is 300 and 500: the same code, a shorter run; these still span every
# status, priority and agent). The records are read back through the API: counts, a walk in pages
# of 7, filters by status, tag, priority, assignee and text, the seeded users' roles. Then a second
# run, through a gateway limited to one request a second per user so that it meets 429s and must
# wait them out, adds nothing, and the counts stand.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
stack=$CRM_SOURCE_DIR/deploy/local/stack.sh
limited=0
restore_gateway() {
    if ((limited)); then
        "$stack" restart gateway >/dev/null || echo "FAIL: could not restart the gateway with the test settings" >&2
    fi
    rm -rf "$tmp"
}
trap restore_gateway EXIT
. "$(dirname "$0")/api.sh"
seed=$CRM_SOURCE_DIR/deploy/local/seed.sh
export SEED_CUSTOMERS=80 SEED_CASES=120

"$seed" --dataset >"$tmp/dataset"
customers=$(jq -s 'map(select(.kind == "customer")) | length' "$tmp/dataset")
cases=$(jq -s 'map(select(.kind == "case")) | length' "$tmp/dataset")
[[ $customers == 80 && $cases == 120 ]] || fail "the dataset has $customers customers and $cases cases"
# The dataset spans every status, priority and tag.
jq -se 'map(select(.kind == "customer") | .body.status) | unique == ["active","churned","inactive","lead","prospect"]' "$tmp/dataset" >/dev/null ||
    fail "the dataset misses a customer status"
jq -se 'map(select(.kind == "case") | .body.status) | unique | length == 6' "$tmp/dataset" >/dev/null ||
    fail "the dataset misses a case status"
jq -se 'map(select(.kind == "case") | .body.priority) | unique | length == 4' "$tmp/dataset" >/dev/null ||
    fail "the dataset misses a priority"

started=$(date +%s%N)
"$seed" >"$tmp/first" 2>&1 || { cat "$tmp/first" >&2; fail "the first seed run failed"; }
first_ms=$((($(date +%s%N) - started) / 1000000))
grep -q "7 users (7 new), 80 customers (80 new), 120 cases (120 new)" "$tmp/first" ||
    { cat "$tmp/first" >&2; fail "the first run did not create everything"; }
pass "first run in $first_ms ms: $(grep '^seed: done' "$tmp/first")"

login
# items PATH [LIMIT]: every item of a list, one JSON line each, walked in pages of LIMIT (100);
# fails on a repeat.
items() {
    local cursor= sep='?'
    [[ $1 == *'?'* ]] && sep='&'
    : >"$tmp/items"
    while :; do
        api GET "$1${sep}limit=${2:-100}${cursor:+&cursor=$cursor}"
        [[ $STATUS == 200 ]] || fail "GET $1 answered $STATUS: $BODY"
        jq -c '.data[]' <<<"$BODY" >>"$tmp/items"
        cursor=$(jq -r '.next_cursor // empty | @uri' <<<"$BODY")
        [[ -n $cursor ]] || break
    done
    [[ $(jq -r .id "$tmp/items" | sort | uniq -d) == "" ]] || fail "GET $1 repeated a record across pages"
    cat "$tmp/items"
}
count() { items "$@" | wc -l; }
expect() { # expect WHAT EXPECTED ACTUAL
    [[ $3 == "$2" ]] || fail "$1: $3, expected $2"
}
in_dataset() { jq -s "map(select($1)) | length" "$tmp/dataset"; }

# The counts a second run must leave as they are: the seeded customers, and the cases of each
# seeded agent (no other test assigns cases to them; the unassigned ones are among many).
check_counts() {
    expect "customers tagged seed" "$customers" "$(count '/api/customers?tag=seed')"
    api GET '/api/users?role=agent&limit=100'
    for agent in $(jq -r 'select(.kind == "user" and .body.role == "agent") | .key' "$tmp/dataset"); do
        id=$(jq -r --arg u "$agent" '.data[] | select(.username == $u) | .id' <<<"$BODY")
        [[ -n $id ]] || fail "no agent $agent"
        expect "cases assigned to $agent" "$(in_dataset ".kind == \"case\" and .assignee == \"$agent\"")" \
            "$(count "/api/cases?assigned_to=$id")"
    done
    maria=$(jq -r '.data[] | select(.username == "maria.garcia") | .id' <<<"$BODY")
}
check_counts
expect "customers tagged seed, in pages of 7" "$customers" "$(count '/api/customers?tag=seed' 7)"
expect "active seeded customers" "$(in_dataset '.kind == "customer" and .body.status == "active"')" \
    "$(count '/api/customers?tag=seed&status=active')"
# tag=vip also finds other tests' customers: count the seeded ones among them.
items '/api/customers?tag=vip' >"$tmp/vip"
expect "seeded vip customers" "$(in_dataset '.kind == "customer" and (.body.tags | index("vip"))')" \
    "$(jq -s 'map(select(.tags | index("seed"))) | length' "$tmp/vip")"
expect "customers of tag=vip without vip" 0 "$(jq -s 'map(select(.tags | index("vip") | not)) | length' "$tmp/vip")"
expect "cases titled 'charged twice'" "$(in_dataset '.kind == "case" and (.key | test("charged twice"))')" \
    "$(count '/api/cases?q=CHARGED%20TWICE')"
expect "urgent cases of maria.garcia" \
    "$(in_dataset '.kind == "case" and .assignee == "maria.garcia" and .body.priority == "urgent"')" \
    "$(count "/api/cases?assigned_to=$maria&priority=urgent")"
expect "open or pending cases of maria.garcia" \
    "$(in_dataset '.kind == "case" and .assignee == "maria.garcia" and (.body.status | IN("open", "pending"))')" \
    "$(count "/api/cases?assigned_to=$maria&status=open,pending")"
# The cases of one seeded customer, through the customers' sub-resource.
email=$(jq -rs 'map(select(.kind == "case")) | group_by(.customer) | max_by(length) | .[0].customer' "$tmp/dataset")
api GET "/api/customers?tag=seed&q=$(jq -rn --arg e "$email" '$e | @uri')"
id=$(jq -r '.data[0].id' <<<"$BODY")
expect "cases of $email" "$(in_dataset ".kind == \"case\" and .customer == \"$email\"")" "$(count "/api/customers/$id/cases")"
# Closed cases have their closed_at; the seeded users have their roles and the seed password.
api GET "/api/cases?assigned_to=$maria&status=closed&limit=100"
expect "closed cases without closed_at" 0 "$(jq '[.data[] | select(.closed_at == null)] | length' <<<"$BODY")"
password=$(<"$CRM_VAR/seed-password")
remember_secret "$password"
for user in maria.garcia sam.viewer; do
    curl -sf -o "$tmp/login" -H 'Content-Type: application/json' "$base/api/auth/login" \
        --data-binary "$(jq -nc --arg u "$user" --arg p "$password" '{username: $u, password: $p}')" ||
        fail "$user cannot log in with the seed password"
done
viewer=$(jq -r .access_token "$tmp/login")
remember_secret "$viewer"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $viewer" -H 'Content-Type: application/json' \
    --data-binary '{"name":"Not allowed"}' "$base/api/customers")
expect "a seeded viewer creating a customer" 403 "$status"
pass "the API shows the dataset: $customers customers, $cases cases, filters and pages agree"

# Again, through a gateway that allows one request a second per user (bursts of 2).
limited=1
CRM_RATE_API_PER_SECOND=1 "$stack" restart gateway >/dev/null
started=$(date +%s%N)
"$seed" >"$tmp/second" 2>&1 || { cat "$tmp/second" >&2; fail "the second seed run failed"; }
second_ms=$((($(date +%s%N) - started) / 1000000))
grep -q "7 users (0 new), 80 customers (0 new), 120 cases (0 new)" "$tmp/second" ||
    { cat "$tmp/second" >&2; fail "the second run created records"; }
waited=$(grep -o '[0-9]* waits for the rate limit' "$tmp/second" | cut -d' ' -f1)
((waited > 0)) || fail "the second run never met the rate limit: $(cat "$tmp/second")"
"$stack" restart gateway >/dev/null
limited=0
login
check_counts
pass "second run in $second_ms ms through a limited gateway: nothing new, $waited waits for a 429"
