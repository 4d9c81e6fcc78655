#!/usr/bin/env bash
# The cases section of shared/API.md (with the conventions it relies on), proved through the
# gateway. One function per rule; each runs in a subshell of its own, so one failure does not
# hide the others, and the summary names every rule that failed. Names carry a random suffix, so
# the script runs again and again on the same stack. Needs the customers service (customers are
# created with POST /api/customers).
#
# Needs CRM_GATEWAY_PORT and CRM_VAR (the stack's; ctest gives both), curl and jq. By hand:
#   CRM_VAR=var CRM_GATEWAY_PORT=8080 tests/integration/cases_api.sh [RULE_REGEX...]
. "$(dirname "$0")/lib.sh"

: "${CRM_GATEWAY_PORT:?the gateway port}" "${CRM_VAR:?the stack state directory}"
base=http://127.0.0.1:$CRM_GATEWAY_PORT
admin_name=${CRM_BOOTSTRAP_ADMIN_USERNAME:-admin}
if [[ -n ${CRM_BOOTSTRAP_ADMIN_PASSWORD:-} ]]; then
    admin_password=$CRM_BOOTSTRAP_ADMIN_PASSWORD
elif [[ -s $CRM_VAR/admin-password ]]; then
    admin_password=$(<"$CRM_VAR/admin-password")
else
    fail "no admin password: set CRM_BOOTSTRAP_ADMIN_PASSWORD or let deploy/local/env.sh write $CRM_VAR/admin-password"
fi
run=$(openssl rand -hex 3)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
missing_id=0123456789abcdef01234567 # valid syntax, never created (ObjectIds start with a time)

# ---- HTTP ------------------------------------------------------------------------------------

# call METHOD PATH [curl options...]: one request to the gateway. Sets STATUS, BODY and LAST.
call() {
    local method=$1 path=$2
    shift 2
    LAST="$method $path"
    io=$tmp/io.$BASHPID # each rule's subshell has files of its own
    : >"$io.body"
    STATUS=$(curl -sS -o "$io.body" -D "$io.headers" -w '%{http_code}' \
        --max-time 30 -X "$method" "$@" "$base$path") || fail "$LAST: curl failed (is the gateway up at $base?)"
    BODY=$(<"$io.body")
    remember_exchange "$BODY" "$@"
    [[ -n $(header X-Request-Id) ]] || fail "$LAST answered $STATUS without an X-Request-Id header"
}
header() {
    { grep -i "^$1:" "$io.headers" || true; } | tail -n 1 | cut -d: -f2- |
        sed 's/^[[:space:]]*//; s/[[:space:]]*$//'
}
auth() { printf 'Authorization: Bearer %s' "$1"; }
get() {
    local path=$1 token=$2
    shift 2
    call GET "$path" -H "$(auth "$token")" "$@"
}
post() {
    local path=$1 json=$2 token=$3
    shift 3
    call POST "$path" -H 'Content-Type: application/json' -H "$(auth "$token")" --data-binary "$json" "$@"
}
patch() {
    local path=$1 json=$2 token=$3
    shift 3
    call PATCH "$path" -H 'Content-Type: application/json' -H "$(auth "$token")" --data-binary "$json" "$@"
}
delete() {
    local path=$1 token=$2
    shift 2
    call DELETE "$path" -H "$(auth "$token")" "$@"
}

# ---- assertions --------------------------------------------------------------------------------

show() { printf '%s answered %s: %s' "$LAST" "$STATUS" "$(head -c 800 <<<"$BODY")"; }
expect() { [[ $STATUS == "$1" ]] || fail "$2: expected $1; $(show)"; }
jq_defs='
def is_time: type == "string" and test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$");
def is_id: type == "string" and test("^[0-9a-f]{24}$");
def is_case: type == "object"
  and keys == ["assigned_to","closed_at","created_at","created_by","customer_id","description",
               "id","priority","resolved_at","status","title","updated_at","version"]
  and (.id | is_id) and (.customer_id | is_id) and (.created_by | is_id)
  and (.title | type == "string") and (.description == null or (.description | type == "string"))
  and (.assigned_to == null or (.assigned_to | is_id))
  and (.priority | IN("low", "normal", "high", "urgent"))
  and (.status | IN("new", "open", "pending", "on_hold", "resolved", "closed"))
  and (.created_at | is_time) and (.updated_at | is_time) and .updated_at >= .created_at
  and (.resolved_at == null or (.resolved_at | is_time)) and (.closed_at == null or (.closed_at | is_time))
  and (.version | type == "number" and . >= 1 and . == floor);
'
check() {
    local what=$1 filter=$2
    shift 2
    jq -e "$jq_defs $filter" "$@" <<<"$BODY" >/dev/null 2>&1 || fail "$what: the body fails [$filter]; $(show)"
}
expect_problem() {
    local status=$1 slug=$2 what=$3
    expect "$status" "$what"
    [[ $(header Content-Type) == application/problem+json* ]] ||
        fail "$what: Content-Type '$(header Content-Type)' is not application/problem+json; $(show)"
    check "$what (problem body)" '.type == $t and .status == $s and (.title | type == "string" and length > 0)
        and (.detail | type == "string") and .request_id == $r' \
        --arg t "/problems/$slug" --argjson s "$status" --arg r "$(header X-Request-Id)"
    if grep -qiE 'E11000|bson|mongoc|\.c:[0-9]|127\.0\.0\.1|localhost' <<<"$BODY"; then
        fail "$what: the problem leaks internals; $(show)"
    fi
}
expect_invalid() {
    local field=$1 codes=$2 what=$3
    expect_problem 422 validation "$what"
    check "$what (one error for '$field' with code $codes)" '(.errors | type == "array" and length == 1)
        and .errors[0].field == $f and (.errors[0].code | test("^(" + $c + ")$"))
        and (.errors[0].message | type == "string" and length > 0)' --arg f "$field" --arg c "$codes"
}

# ---- fixtures ----------------------------------------------------------------------------------

name_of() { printf '%s-%s' "$1" "$run"; }
pw() { remember_secret "Pw.$1.$run.secret"; printf 'Pw.%s.%s.secret' "$1" "$run"; }
login() {
    post /api/auth/login "$(jq -nc --arg u "$1" --arg p "$2" '{username: $u, password: $p}')" none
    expect 200 "login as $1"
    ACCESS=$(jq -r .access_token <<<"$BODY")
    ID=$(jq -r .user.id <<<"$BODY")
}
# user KEY ROLE: registers (by the admin) and logs in; sets ACCESS and ID.
user() {
    post /api/auth/register "$(jq -nc --arg u "$(name_of "$1")" --arg p "$(pw "$1")" --arg r "$2" \
        '{username: $u, password: $p, role: $r}')" "$admin_token"
    expect 201 "register $(name_of "$1") as $2"
    login "$(name_of "$1")" "$(pw "$1")"
}
# customer: creates a customer through the customers service; sets CUSTOMER.
customer() {
    post /api/customers "$(jq -nc --arg n "Customer $run $RANDOM" '{name: $n}')" "$admin_token"
    expect 201 "create a customer"
    CUSTOMER=$(jq -r .id <<<"$BODY")
}
# new_case CUSTOMER [EXTRA_JSON [TOKEN]]: creates a case; sets CASE (its id) and BODY.
new_case() {
    local extra=${2:-'{}'} token=${3:-$agent_token}
    post /api/cases "$(jq -nc --arg c "$1" --argjson x "$extra" '{customer_id: $c, title: "Case \($c[-6:])"} + $x')" "$token"
    expect 201 "create a case with $extra"
    CASE=$(jq -r .id <<<"$BODY")
}

# ---- rules: create -----------------------------------------------------------------------------

rule_create_defaults_location_etag() {
    customer
    new_case "$CUSTOMER"
    check "defaults" 'is_case and .customer_id == $c and .priority == "normal" and .status == "new"
        and .description == null and .assigned_to == null and .resolved_at == null
        and .closed_at == null and .version == 1 and .created_by == $me and .created_at == .updated_at' \
        --arg c "$CUSTOMER" --arg me "$agent_id"
    [[ $(header Location) == "/api/cases/$CASE" ]] || fail "Location is '$(header Location)'"
    [[ $(header ETag) == '"1"' ]] || fail "ETag is '$(header ETag)'"
    get "/api/cases/$CASE" "$viewer_token"
    expect 200 "a viewer reads the case"
    check "the same case" 'is_case and .id == $id' --arg id "$CASE"
}

rule_create_every_field_and_status() {
    customer
    new_case "$CUSTOMER" "$(jq -nc --arg a "$agent_id" '{description: "d", assigned_to: $a, priority: "urgent", status: "resolved"}')"
    check "resolved on create" '.status == "resolved" and (.resolved_at | is_time) and .closed_at == null
        and .priority == "urgent" and .description == "d" and .assigned_to == $a' --arg a "$agent_id"
    new_case "$CUSTOMER" '{"status": "closed", "assigned_to": null, "description": null}' "$admin_token"
    check "closed on create" '.status == "closed" and (.closed_at | is_time) and .resolved_at == null
        and .created_by == $me' --arg me "$admin_id"
}

rule_create_each_field_invalid() {
    customer
    local c=$CUSTOMER long201 long10001
    long201=$(printf 'é%.0s' {1..201})
    long10001=$(head -c 10001 /dev/zero | tr '\0' a)
    while IFS='|' read -r field code body; do
        post /api/cases "$body" "$agent_token"
        expect_invalid "$field" "$code" "POST $body"
    done <<EOF2
customer_id|required|{"title":"t"}
customer_id|type|{"customer_id":5,"title":"t"}
customer_id|type|{"customer_id":{"\$gt":""},"title":"t"}
customer_id|format|{"customer_id":"nope","title":"t"}
customer_id|reference|{"customer_id":"$missing_id","title":"t"}
title|required|{"customer_id":"$c"}
title|required|{"customer_id":"$c","title":"   "}
title|required|{"customer_id":"$c","title":null}
title|type|{"customer_id":"$c","title":["t"]}
title|length|{"customer_id":"$c","title":"$long201"}
description|length|{"customer_id":"$c","title":"t","description":"$long10001"}
description|type|{"customer_id":"$c","title":"t","description":1}
priority|enum|{"customer_id":"$c","title":"t","priority":"critical"}
priority|type|{"customer_id":"$c","title":"t","priority":null}
status|enum|{"customer_id":"$c","title":"t","status":"done"}
assigned_to|format|{"customer_id":"$c","title":"t","assigned_to":"me"}
assigned_to|reference|{"customer_id":"$c","title":"t","assigned_to":"$missing_id"}
assigned_to|reference|{"customer_id":"$c","title":"t","assigned_to":"$viewer_id"}
assigned_to|reference|{"customer_id":"$c","title":"t","assigned_to":"$disabled_id"}
id|read_only|{"customer_id":"$c","title":"t","id":"$missing_id"}
version|read_only|{"customer_id":"$c","title":"t","version":1}
created_by|read_only|{"customer_id":"$c","title":"t","created_by":"$agent_id"}
created_at|read_only|{"customer_id":"$c","title":"t","created_at":"2026-01-01T00:00:00.000Z"}
updated_at|read_only|{"customer_id":"$c","title":"t","updated_at":"2026-01-01T00:00:00.000Z"}
resolved_at|read_only|{"customer_id":"$c","title":"t","resolved_at":null}
closed_at|read_only|{"customer_id":"$c","title":"t","closed_at":null}
owner|unknown|{"customer_id":"$c","title":"t","owner":"x"}
|type|[1,2]
EOF2
}

rule_create_every_bad_field_once() {
    post /api/cases '{"customer_id":1,"title":"","priority":"x","status":2,"id":"a","zzz":true}' "$agent_token"
    expect_problem 422 validation "many bad fields"
    check "one entry per bad field" '(.errors | length == 6) and ([.errors[].field] | sort == ["customer_id","id","priority","status","title","zzz"])'
    customer
    post /api/cases "$(jq -nc --arg c "$missing_id" --arg a "$viewer_id" '{customer_id: $c, title: "t", assigned_to: $a}')" "$agent_token"
    expect_problem 422 validation "two bad references"
    check "both references" '[.errors[] | .field + ":" + .code] | sort == ["assigned_to:reference","customer_id:reference"]'
}

rule_create_assignable_users() {
    customer
    new_case "$CUSTOMER" "$(jq -nc --arg a "$admin_id" '{assigned_to: $a}')"
    check "an admin can be assigned" '.assigned_to == $a' --arg a "$admin_id"
    new_case "$CUSTOMER" "$(jq -nc --arg a "$agent_id" '{assigned_to: $a}')"
    check "an agent can be assigned" '.assigned_to == $a' --arg a "$agent_id"
}

rule_bodies_and_media_types() {
    customer
    call POST /api/cases -H 'Content-Type: text/plain' -H "$(auth "$agent_token")" --data-binary '{}'
    expect_problem 415 unsupported-media-type "text/plain"
    call POST /api/cases -H 'Content-Type: application/json' -H "$(auth "$agent_token")" --data-binary '{"title":'
    expect_problem 400 malformed-request "broken JSON"
    call POST /api/cases -H 'Content-Type: application/json' -H "$(auth "$agent_token")" --data-binary '{"title":"a","title":"b"}'
    expect_problem 400 malformed-request "duplicate keys"
    new_case "$CUSTOMER"
    call PATCH "/api/cases/$CASE" -H 'Content-Type: application/merge-patch+json' -H "$(auth "$agent_token")" --data-binary '{"title":"merged"}'
    expect 200 "merge-patch+json"
    check "patched" '.title == "merged"'
}

rule_roles() {
    customer
    new_case "$CUSTOMER"
    call GET /api/cases
    expect_problem 401 unauthorized "no token"
    post /api/cases "$(jq -nc --arg c "$CUSTOMER" '{customer_id: $c, title: "t"}')" "$viewer_token"
    expect_problem 403 forbidden "a viewer creates"
    patch "/api/cases/$CASE" '{"title":"x"}' "$viewer_token"
    expect_problem 403 forbidden "a viewer patches"
    delete "/api/cases/$CASE" "$viewer_token"
    expect_problem 403 forbidden "a viewer deletes"
    delete "/api/cases/$CASE" "$agent_token"
    expect_problem 403 forbidden "an agent deletes"
    get /api/cases "$viewer_token"
    expect 200 "a viewer lists"
    get "/api/customers/$CUSTOMER/cases" "$viewer_token"
    expect 200 "a viewer lists a customer's cases"
}

# ---- rules: read, update, delete ---------------------------------------------------------------

rule_get_not_found_bad_id_and_304() {
    get "/api/cases/$missing_id" "$agent_token"
    expect_problem 404 not-found "an unknown case"
    get /api/cases/nope "$agent_token"
    expect_problem 400 bad-parameter "a bad id"
    customer
    new_case "$CUSTOMER"
    get "/api/cases/$CASE" "$agent_token" -H 'If-None-Match: "1"'
    expect 304 "If-None-Match of the current version"
    [[ -z $BODY && $(header ETag) == '"1"' ]] || fail "304 with a body or without its ETag"
    get "/api/cases/$CASE" "$agent_token" -H 'If-None-Match: W/"1"'
    expect 304 "a weak If-None-Match"
    get "/api/cases/$CASE" "$agent_token" -H 'If-None-Match: "7"'
    expect 200 "another version"
}

rule_patch_changes_versions_and_noop() {
    customer
    new_case "$CUSTOMER" '{"description":"d"}'
    local created
    created=$(jq -r .updated_at <<<"$BODY")
    sleep 0.01
    patch "/api/cases/$CASE" '{"title":"Renamed","description":null,"priority":"high"}' "$agent_token"
    expect 200 "a patch"
    check "patched" 'is_case and .title == "Renamed" and .description == null and .priority == "high"
        and .version == 2 and .updated_at > $u' --arg u "$created"
    [[ $(header ETag) == '"2"' ]] || fail "ETag after a patch is '$(header ETag)'"
    local updated
    updated=$(jq -r .updated_at <<<"$BODY")
    patch "/api/cases/$CASE" '{"title":"Renamed","priority":"high"}' "$agent_token"
    expect 200 "a patch that changes nothing"
    check "nothing changed" '.version == 2 and .updated_at == $u' --arg u "$updated"
    patch "/api/cases/$CASE" "$(jq -nc --arg a "$agent_id" '{assigned_to: $a}')" "$agent_token"
    check "assigned" '.assigned_to == $a and .version == 3' --arg a "$agent_id"
    patch "/api/cases/$CASE" '{"assigned_to":null}' "$agent_token"
    check "unassigned" '.assigned_to == null and .version == 4'
    patch "/api/cases/$CASE" "$(jq -nc --arg a "$disabled_id" '{assigned_to: $a}')" "$agent_token"
    expect_invalid assigned_to reference "a disabled agent"
    patch "/api/cases/$missing_id" '{"title":"x"}' "$agent_token"
    expect_problem 404 not-found "patch an unknown case"
}

rule_patch_read_only_and_unknown() {
    customer
    new_case "$CUSTOMER"
    while IFS='|' read -r field code body; do
        patch "/api/cases/$CASE" "$body" "$agent_token"
        expect_invalid "$field" "$code" "PATCH $body"
    done <<EOF2
customer_id|read_only|{"customer_id":"$CUSTOMER"}
id|read_only|{"id":"$CASE"}
version|read_only|{"version":9}
created_by|read_only|{"created_by":"$agent_id"}
resolved_at|read_only|{"resolved_at":null}
title|required|{"title":""}
title|type|{"title":null}
status|enum|{"status":"archived"}
nope|unknown|{"nope":1}
|type|"text"
EOF2
}

rule_lifecycle() {
    customer
    new_case "$CUSTOMER"
    local s
    for s in open pending on_hold new resolved; do
        patch "/api/cases/$CASE" "{\"status\":\"$s\"}" "$agent_token"
        expect 200 "move to $s"
    done
    check "resolved" '.status == "resolved" and (.resolved_at | is_time) and .closed_at == null'
    local resolved_at version
    resolved_at=$(jq -r .resolved_at <<<"$BODY")
    version=$(jq -r .version <<<"$BODY")
    patch "/api/cases/$CASE" '{"status":"resolved"}' "$agent_token"
    check "resolved again is a no-op" '.resolved_at == $r and .version == ($v | tonumber)' --arg r "$resolved_at" --arg v "$version"
    patch "/api/cases/$CASE" '{"status":"closed"}' "$agent_token"
    check "closed" '.status == "closed" and (.closed_at | is_time) and .resolved_at == null'
    for s in new pending on_hold resolved; do
        patch "/api/cases/$CASE" "{\"status\":\"$s\"}" "$agent_token"
        expect_problem 409 conflict "closed to $s"
        check "the allowed targets" '.detail | test("open")'
    done
    patch "/api/cases/$CASE" '{"status":"closed"}' "$agent_token"
    expect 200 "closed again"
    patch "/api/cases/$CASE" '{"status":"open"}' "$agent_token"
    check "reopened" '.status == "open" and .closed_at == null and .resolved_at == null'
    for s in new pending on_hold resolved; do
        new_case "$CUSTOMER" "{\"status\":\"$s\"}"
        patch "/api/cases/$CASE" '{"status":"closed"}' "$agent_token"
        expect 200 "$s to closed"
        check "closed from $s" '.status == "closed" and (.closed_at | is_time) and .resolved_at == null'
    done
}

rule_if_match() {
    customer
    new_case "$CUSTOMER"
    patch "/api/cases/$CASE" '{"title":"a"}' "$agent_token" -H 'If-Match: "7"'
    expect_problem 412 precondition-failed "a stale If-Match"
    patch "/api/cases/$CASE" '{"title":"a"}' "$agent_token" -H 'If-Match: W/"1"'
    expect_problem 412 precondition-failed "a weak If-Match"
    patch "/api/cases/$CASE" '{"title":"a"}' "$agent_token" -H 'If-Match: "1"'
    expect 200 "the current If-Match"
    patch "/api/cases/$CASE" '{"title":"b"}' "$agent_token" -H 'If-Match: *'
    expect 200 "If-Match *"
    patch "/api/cases/$missing_id" '{"title":"b"}' "$agent_token" -H 'If-Match: "1"'
    expect_problem 404 not-found "If-Match on a missing case"
    delete "/api/cases/$CASE" "$admin_token" -H 'If-Match: "1"'
    expect_problem 412 precondition-failed "delete with a stale If-Match"
    delete "/api/cases/$CASE" "$admin_token" -H 'If-Match: W/"3"'
    expect_problem 412 precondition-failed "delete with a weak If-Match"
    delete "/api/cases/$CASE" "$admin_token" -H 'If-Match: "3"'
    expect 204 "delete with the current If-Match"
    [[ -z $BODY ]] || fail "204 with a body"
    get "/api/cases/$CASE" "$admin_token"
    expect_problem 404 not-found "a deleted case"
    delete "/api/cases/$CASE" "$admin_token" -H 'If-Match: *'
    expect_problem 404 not-found "delete a deleted case"
    delete "/api/cases/nope" "$admin_token"
    expect_problem 400 bad-parameter "delete a bad id"
}

rule_concurrent_patches_one_winner() {
    customer
    new_case "$CUSTOMER"
    local i
    for i in 1 2 3 4 5 6 7 8; do
        curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 -X PATCH "$base/api/cases/$CASE" \
            -H 'Content-Type: application/json' -H "$(auth "$agent_token")" -H 'If-Match: "1"' \
            --data-binary "{\"title\":\"writer $i\"}" >"$tmp/concurrent.$i" &
    done
    wait
    local codes
    codes=$(cat "$tmp"/concurrent.* | sort | uniq -c | tr -s ' ' | tr '\n' ';')
    [[ $(cat "$tmp"/concurrent.* | grep -c '^200$') == 1 ]] || fail "8 PATCHes with one ETag: $codes"
    [[ $(cat "$tmp"/concurrent.* | grep -c '^412$') == 7 ]] || fail "the losers are not 412: $codes"
    get "/api/cases/$CASE" "$agent_token"
    check "one change" '.version == 2'
}

# ---- rules: lists ------------------------------------------------------------------------------

rule_list_shape_and_default_sort() {
    customer
    local ids=() i
    for i in 1 2 3; do
        new_case "$CUSTOMER"
        ids+=("$CASE")
    done
    get "/api/cases?customer_id=$CUSTOMER" "$viewer_token"
    expect 200 "a list"
    check "shape, newest first" '(keys == ["data","next_cursor"]) and .next_cursor == null
        and all(.data[]; is_case) and ([.data[].id] == [$c, $b, $a])' \
        --arg a "${ids[0]}" --arg b "${ids[1]}" --arg c "${ids[2]}"
    get "/api/cases?customer_id=$CUSTOMER&sort=created_at" "$viewer_token"
    check "oldest first" '[.data[].id] == [$a, $b, $c]' --arg a "${ids[0]}" --arg b "${ids[1]}" --arg c "${ids[2]}"
    get "/api/cases?customer_id=$CUSTOMER&limit=2" "$viewer_token"
    check "a page" '(.data | length == 2) and (.next_cursor | type == "string")'
    patch "/api/cases/${ids[0]}" '{"title":"touched"}' "$agent_token"
    get "/api/cases?customer_id=$CUSTOMER&sort=-updated_at" "$viewer_token"
    check "updated_at" '.data[0].id == $a' --arg a "${ids[0]}"
}

rule_list_filters() {
    customer
    local c=$CUSTOMER
    new_case "$c" '{"priority":"low","status":"open"}'
    local low=$CASE
    new_case "$c" "$(jq -nc --arg a "$agent_id" '{priority: "urgent", status: "pending", assigned_to: $a}')"
    local urgent=$CASE
    new_case "$c" '{"priority":"high"}'
    local high=$CASE
    post /api/cases "$(jq -nc --arg c "$c" '{customer_id: $c, title: "Weird a.b*(c) [x] title"}')" "$agent_token"
    local weird
    weird=$(jq -r .id <<<"$BODY")
    q() { get "/api/cases?customer_id=$c&$1" "$viewer_token"; expect 200 "$1"; }
    q status=open
    check "status" '[.data[].id] == [$x]' --arg x "$low"
    q status=open,pending
    check "status list" '[.data[].id] | sort == ([$x, $y] | sort)' --arg x "$low" --arg y "$urgent"
    q priority=urgent,high
    check "priority list" '[.data[].id] | sort == ([$x, $y] | sort)' --arg x "$urgent" --arg y "$high"
    q "assigned_to=$agent_id"
    check "assigned_to id" '[.data[].id] == [$x]' --arg x "$urgent"
    get "/api/cases?customer_id=$c&assigned_to=me" "$agent_token"
    check "assigned_to me" '[.data[].id] == [$x]' --arg x "$urgent"
    get "/api/cases?customer_id=$c&assigned_to=me" "$viewer_token"
    check "assigned_to me (nobody)" '.data == []'
    q assigned_to=none
    check "assigned_to none" '.data | length == 3'
    q q=WEIRD%20A.B*%28C%29%20%5Bx%5D
    check "q literal, case-insensitive" '[.data[].id] == [$x]' --arg x "$weird"
    q q=a.b.%28c
    check "q is no pattern" '.data == []'
    q 'q=.*'
    check "q .* matches nothing" '.data == []'
    local first
    get "/api/cases/$low" "$viewer_token"
    first=$(jq -r .created_at <<<"$BODY")
    q "created_after=$first"
    check "created_after inclusive" '.data | length == 4'
    q "created_before=$first"
    check "created_before exclusive" '.data == []'
    customer
    get "/api/cases?customer_id=$CUSTOMER" "$viewer_token"
    check "another customer's cases" '.data == []'
}

rule_list_priority_sort() {
    customer
    local p
    for p in high low urgent normal low; do new_case "$CUSTOMER" "{\"priority\":\"$p\"}"; done
    get "/api/cases?customer_id=$CUSTOMER&sort=priority" "$viewer_token"
    check "low to urgent" '[.data[].priority] == ["low","low","normal","high","urgent"]
        and (.data[0].id < .data[1].id)'
    get "/api/cases?customer_id=$CUSTOMER&sort=-priority&limit=2" "$viewer_token"
    check "urgent first" '[.data[].priority] == ["urgent","high"]'
    local cursor
    cursor=$(jq -r .next_cursor <<<"$BODY")
    get "/api/cases?customer_id=$CUSTOMER&sort=-priority&limit=2&cursor=$cursor" "$viewer_token"
    check "next page" '[.data[].priority] == ["normal","low"]'
}

rule_list_bad_parameters() {
    local p
    for p in nope=1 limit=0 limit=101 limit=abc 'limit=1&limit=2' sort=title sort=-name status=done \
        status=open,open status= priority=critical assigned_to=bob customer_id=xyz q= \
        "q=$(printf 'a%.0s' {1..201})" created_after=yesterday created_before=2026-13-01T00:00:00Z \
        cursor=garbage; do
        get "/api/cases?$p" "$viewer_token"
        expect_problem 400 bad-parameter "?$p"
    done
    customer
    new_case "$CUSTOMER"
    new_case "$CUSTOMER"
    get "/api/cases?customer_id=$CUSTOMER&limit=1" "$viewer_token"
    local cursor
    cursor=$(jq -r .next_cursor <<<"$BODY")
    get "/api/cases?customer_id=$CUSTOMER&limit=1&sort=priority&cursor=$cursor" "$viewer_token"
    expect_problem 400 bad-parameter "a cursor with another sort"
    get "/api/cases?customer_id=$CUSTOMER&limit=1&status=new&cursor=$cursor" "$viewer_token"
    expect_problem 400 bad-parameter "a cursor with other filters"
    get "/api/cases?customer_id=$CUSTOMER&limit=1&cursor=${cursor}x" "$viewer_token"
    expect_problem 400 bad-parameter "a tampered cursor"
}

rule_pagination_walk_with_inserts() {
    customer
    local i seen=() cursor="" page=0
    for i in $(seq 1 25); do new_case "$CUSTOMER"; done
    get "/api/cases?customer_id=$CUSTOMER&limit=100" "$viewer_token"
    local originals
    originals=$(jq -r '[.data[].id] | sort | join(" ")' <<<"$BODY")
    while :; do
        get "/api/cases?customer_id=$CUSTOMER&limit=7${cursor:+&cursor=$cursor}" "$viewer_token"
        expect 200 "page $page"
        mapfile -t -O "${#seen[@]}" seen < <(jq -r '.data[].id' <<<"$BODY")
        cursor=$(jq -r '.next_cursor // empty' <<<"$BODY")
        new_case "$CUSTOMER" # inserted during the walk: newer, so ahead of the walk
        page=$((page + 1))
        [[ -n $cursor && $page -lt 20 ]] || break
    done
    [[ $(printf '%s\n' "${seen[@]}" | sort | uniq -d | wc -l) == 0 ]] || fail "the walk repeated a case"
    local walked
    walked=$(printf '%s\n' "${seen[@]}" | sort | tr '\n' ' ' | sed 's/ $//')
    [[ $walked == "$originals" ]] || fail "the walk did not see each original case once: ${#seen[@]} seen"
}

rule_customer_cases_route() {
    customer
    local mine=$CUSTOMER
    new_case "$mine"
    local case_id=$CASE
    customer
    new_case "$CUSTOMER"
    get "/api/customers/$mine/cases" "$viewer_token"
    expect 200 "a customer's cases"
    check "only its cases" '(keys == ["data","next_cursor"]) and [.data[].id] == [$x]' --arg x "$case_id"
    get "/api/customers/$mine/cases?status=new&limit=1&sort=priority" "$viewer_token"
    expect 200 "with list parameters"
    get "/api/customers/$mine/cases?customer_id=$mine" "$viewer_token"
    expect_problem 400 bad-parameter "customer_id on the nested route"
    get "/api/customers/$mine/cases?limit=0" "$viewer_token"
    expect_problem 400 bad-parameter "a bad limit on the nested route"
    get "/api/customers/$missing_id/cases" "$viewer_token"
    expect_problem 404 not-found "an unknown customer"
    get "/api/customers/nope/cases" "$viewer_token"
    expect_problem 400 bad-parameter "a bad customer id"
}

# ---- main -------------------------------------------------------------------------------------

wait_for 30 curl -sf "$base/readyz" || fail "the gateway at $base is not ready"
login "$admin_name" "$admin_password"
admin_token=$ACCESS admin_id=$ID
user agent agent
agent_token=$ACCESS agent_id=$ID
user viewer viewer
viewer_token=$ACCESS viewer_id=$ID
user disabled agent
disabled_id=$ID
patch "/api/users/$disabled_id" '{"disabled":true}' "$admin_token"
expect 200 "disable a user"
echo "cases_api: run $run against $base"

failed=()
count=0
for rule in $(grep -o '^rule_[a-z_]*()' "$0" | tr -d '()' | grep -E "$(IFS='|' && echo "${*:-.}")"); do
    count=$((count + 1))
    set +e
    (
        set -eE
        trap 'printf "FAIL: %s: \"%s\" failed with status %s (line %s)\n" "$rule" "$BASH_COMMAND" $? $LINENO >&2' ERR
        "$rule"
    )
    status=$?
    set -e
    ((status == 0)) || failed+=("$rule")
done
if ((${#failed[@]})); then
    printf 'cases_api: %d of %d rules failed: %s\n' "${#failed[@]}" "$count" "${failed[*]}" >&2
    exit 1
fi
echo "cases_api: all $count rules passed"
