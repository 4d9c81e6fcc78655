#!/usr/bin/env bash
# The customers section of shared/API.md (with the conventions it relies on) and the customer
# events of its Kafka section, proved through the gateway. One function per rule; each runs in a
# subshell of its own, so one failure does not hide the others. Every record carries a tag of
# this run, so the script runs again and again on the same stack.
#
# Needs CRM_GATEWAY_PORT, CRM_VAR (the stack's: the admin password is in $CRM_VAR/admin-password)
# and CRM_KAFKA_BROKERS; curl, jq and kcat.
#   CRM_VAR=var CRM_GATEWAY_PORT=8080 CRM_KAFKA_BROKERS=127.0.0.1:9092 \
#       tests/integration/customers_api.sh [RULE_REGEX...]
. "$(dirname "$0")/lib.sh"

: "${CRM_GATEWAY_PORT:?the gateway port}" "${CRM_VAR:?the stack state directory}"
: "${CRM_KAFKA_BROKERS:?the Kafka brokers}"
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
tag=run-$run # on every customer this run makes
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- HTTP (the same helpers as auth_api.sh) ---------------------------------------------------

# call METHOD PATH [curl options...]: sets STATUS, BODY and LAST; headers in $headers_file.
call() {
    local method=$1 path=$2
    shift 2
    LAST="$method $path"
    headers_file=$tmp/headers.$BASHPID body_file=$tmp/body.$BASHPID # one pair per process
    : >"$body_file"
    STATUS=$(curl -sS -o "$body_file" -D "$headers_file" -w '%{http_code}' \
        --max-time 30 -X "$method" "$@" "$base$path") || fail "$LAST: curl failed (is the gateway up at $base?)"
    BODY=$(<"$body_file")
    remember_exchange "$BODY" "$@"
    [[ -n $(header X-Request-Id) ]] || fail "$LAST answered $STATUS without an X-Request-Id header"
}
header() {
    { grep -i "^$1:" "$headers_file" || true; } | tail -n 1 | cut -d: -f2- |
        sed 's/^[[:space:]]*//; s/[[:space:]]*$//'
}
get() {
    local path=$1 token=${2:-}
    shift $(($# < 2 ? $# : 2))
    call GET "$path" ${token:+-H "Authorization: Bearer $token"} "$@"
}
post() {
    local path=$1 json=$2 token=${3:-}
    shift $(($# < 3 ? $# : 3))
    call POST "$path" -H 'Content-Type: application/json' ${token:+-H "Authorization: Bearer $token"} \
        --data-binary "$json" "$@"
}
patch() {
    local path=$1 json=$2 token=$3
    shift 3
    call PATCH "$path" -H 'Content-Type: application/merge-patch+json' \
        ${token:+-H "Authorization: Bearer $token"} --data-binary "$json" "$@"
}
delete() {
    local path=$1 token=$2
    shift 2
    call DELETE "$path" ${token:+-H "Authorization: Bearer $token"} "$@"
}

show() { printf '%s answered %s: %s' "$LAST" "$STATUS" "$(head -c 800 <<<"$BODY")"; }
expect() { [[ $STATUS == "$1" ]] || fail "$2: expected $1; $(show)"; }

jq_defs='
def is_time: type == "string" and test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$");
def opt_string: . == null or type == "string";
def is_customer: type == "object"
  and keys == ["contact_info","created_at","id","name","status","tags","updated_at","version"]
  and (.id | type == "string" and test("^[0-9a-f]{24}$"))
  and (.name | type == "string" and length > 0)
  and (.contact_info | type == "object" and keys == ["address","email","phone"]
       and (.email | opt_string) and (.phone | opt_string) and (.address | opt_string))
  and (.status | IN("lead", "prospect", "active", "inactive", "churned"))
  and (.tags | type == "array" and all(.[]; type == "string"))
  and (.created_at | is_time) and (.updated_at | is_time) and .updated_at >= .created_at
  and (.version | type == "number" and . >= 1 and . == floor);
def codes_known: all(.errors[]; .code | IN("required", "type", "length", "format", "enum",
  "range", "unknown", "read_only", "reference", "duplicate"));
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
    check "$what (problem body)" '.type == $t and .status == $s and (.title | type == "string")
        and (.detail | type == "string") and .request_id == $r' \
        --arg t "/problems/$slug" --argjson s "$status" --arg r "$(header X-Request-Id)"
    if grep -qiE 'E11000|bson|mongoc|\$regex|\.c:[0-9]|127\.0\.0\.1|localhost' <<<"$BODY"; then
        fail "$what: the problem leaks internals; $(show)"
    fi
}
# expect_invalid_fields WHAT FIELD:CODE...: a 422 with exactly these errors, one per field.
expect_invalid_fields() {
    local what=$1 expected
    shift
    expected=$(printf '%s\n' "$@" | jq -R 'split(":") | {field: .[0], code: .[1]}' | jq -sc 'sort_by(.field)')
    expect_problem 422 validation "$what"
    check "$what (errors $expected)" '([.errors[] | {field, code}] | sort_by(.field)) == $e and codes_known
        and all(.errors[]; .message | type == "string" and length > 0)' --argjson e "$expected"
}

# ---- users -------------------------------------------------------------------------------------

login() {
    post /api/auth/login "$(jq -nc --arg u "$1" --arg p "$2" '{username: $u, password: $p}')"
    expect 200 "login as $1"
    ACCESS=$(jq -r .access_token <<<"$BODY")
}
# user ROLE: registers (by the admin) and logs in a user of ROLE; sets ACCESS.
user() {
    local name=cust-$1-$run password=Pw.$1.$run.secret
    post /api/auth/register "$(jq -nc --arg u "$name" --arg p "$password" --arg r "$1" \
        '{username: $u, password: $p, role: $r}')" "$admin_token"
    expect 201 "register $name"
    login "$name" "$password"
}

# ---- customers ---------------------------------------------------------------------------------

# create JSON [TOKEN [curl options...]]: a POST that must answer 201; sets CID, CUSTOMER.
create() {
    local json=$1 token=${2:-$agent_token}
    shift $(($# < 2 ? $# : 2))
    post /api/customers "$json" "$token" "$@"
    expect 201 "create $json"
    CID=$(jq -r .id <<<"$BODY")
    CUSTOMER=$BODY
}
# named NAME [EXTRA_JSON]: a customer of this run.
named() { create "$(jq -nc --arg n "$1" --arg t "$tag" --argjson x "${2:-{\}}" '{name: $n, tags: [$t]} + $x')"; }

rule_create_defaults_location_etag() {
    create "{\"name\": \"Ada $run\", \"tags\": [\"$tag\"]}"
    check "create" 'is_customer and .name == $n and .status == "lead" and .tags == [$t]
        and .contact_info == {email: null, phone: null, address: null} and .version == 1
        and .created_at == .updated_at' --arg n "Ada $run" --arg t "$tag"
    [[ $(header Location) == "/api/customers/$CID" ]] || fail "Location is '$(header Location)'"
    [[ $(header ETag) == '"1"' ]] || fail "ETag is '$(header ETag)'"
    [[ $(header Content-Type) == application/json* ]] || fail "Content-Type '$(header Content-Type)'"
}

rule_create_every_field() {
    create "$(jq -nc --arg t "$tag" '{name: "Grace  Hopper", status: "active", tags: [$t, "vip"],
        contact_info: {email: "grace@example.com", phone: "+1 (555) 010-99.1", address: "Arlington, VA"}}')"
    check "create with every field" 'is_customer and .status == "active" and .tags == [$t, "vip"]
        and .contact_info == {email: "grace@example.com", phone: "+1 (555) 010-99.1", address: "Arlington, VA"}' \
        --arg t "$tag"
    get "/api/customers/$CID" "$viewer_token"
    expect 200 "read it back"
    check "read back" '. == $c' --argjson c "$CUSTOMER"
}

rule_create_validation_each_field() {
    local long201 long41 long501 long255 digits33 tags21
    long201=$(printf 'n%.0s' {1..201})
    long41=$(printf 't%.0s' {1..41})
    long501=$(printf 'a%.0s' {1..501})
    long255="$(printf 'e%.0s' {1..245})@example.com"
    digits33=$(printf '1%.0s' {1..33})
    tags21=$(jq -nc '[range(21) | tostring]')
    local cases=(
        '{}|name:required'
        '{"name": ""}|name:required'
        '{"name": "   "}|name:required'
        '{"name": null}|name:required'
        '{"name": 7}|name:type'
        '{"name": {"$gt": ""}}|name:type'
        "{\"name\": \"$long201\"}|name:length"
        '{"name": "a", "contact_info": "x"}|contact_info:type'
        '{"name": "a", "contact_info": {"email": "not-an-address"}}|contact_info.email:format'
        '{"name": "a", "contact_info": {"email": {"$ne": null}}}|contact_info.email:type'
        "{\"name\": \"a\", \"contact_info\": {\"email\": \"$long255\"}}|contact_info.email:length"
        '{"name": "a", "contact_info": {"phone": "call me"}}|contact_info.phone:format'
        "{\"name\": \"a\", \"contact_info\": {\"phone\": \"$digits33\"}}|contact_info.phone:length"
        "{\"name\": \"a\", \"contact_info\": {\"address\": \"$long501\"}}|contact_info.address:length"
        '{"name": "a", "contact_info": {"address": 12}}|contact_info.address:type'
        '{"name": "a", "contact_info": {"fax": "1"}}|contact_info.fax:unknown'
        '{"name": "a", "status": "vip"}|status:enum'
        '{"name": "a", "status": ["lead"]}|status:type'
        '{"name": "a", "tags": "vip"}|tags:type'
        '{"name": "a", "tags": ["x", "y", "x"]}|tags[2]:duplicate'
        '{"name": "a", "tags": [""]}|tags[0]:length'
        "{\"name\": \"a\", \"tags\": [\"$long41\"]}|tags[0]:length"
        '{"name": "a", "tags": ["ok", {"$gt": ""}]}|tags[1]:type'
        "{\"name\": \"a\", \"tags\": $tags21}|tags:length"
        '{"name": "a", "id": "0123456789abcdef01234567"}|id:read_only'
        '{"name": "a", "version": 9}|version:read_only'
        '{"name": "a", "created_at": "2026-01-01T00:00:00.000Z"}|created_at:read_only'
        '{"name": "a", "updated_at": "2026-01-01T00:00:00.000Z"}|updated_at:read_only'
        '{"name": "a", "owner": "me"}|owner:unknown'
        '{"name": "a", "_id": "x"}|_id:unknown'
        '[]|:type'
        '"text"|:type'
    )
    local entry
    for entry in "${cases[@]}"; do
        post /api/customers "${entry%|*}" "$agent_token"
        if [[ ${entry##*|} == ":type" ]]; then
            expect_problem 422 validation "POST ${entry%|*}"
            check "POST ${entry%|*}: one error for the body" '.errors | length == 1 and .[0].field == ""'
        else
            expect_invalid_fields "POST ${entry%|*}" "${entry##*|}"
        fi
    done
}

rule_create_one_error_per_field() {
    post /api/customers '{"name": "", "status": "x", "tags": ["a", "a", ""], "contact_info":
        {"email": "no", "phone": "x"}, "version": 1, "extra": true}' "$agent_token"
    expect_invalid_fields "many bad fields" name:required status:enum 'tags[1]:duplicate' \
        'tags[2]:length' contact_info.email:format contact_info.phone:format version:read_only \
        extra:unknown
}

rule_create_malformed_and_media_type() {
    post /api/customers '{"name": "a",' "$agent_token"
    expect_problem 400 malformed-request "truncated JSON"
    post /api/customers '' "$agent_token"
    expect_problem 400 malformed-request "empty body"
    post /api/customers '{"name": "a", "name": "b"}' "$agent_token"
    expect_problem 400 malformed-request "duplicate keys"
    call POST /api/customers -H "Authorization: Bearer $agent_token" -H 'Content-Type: text/plain' \
        --data-binary '{"name": "a"}'
    expect_problem 415 unsupported-media-type "text/plain"
    { printf '{"name": "'; head -c $((1024 * 1024)) /dev/zero | tr '\0' 'a'; printf '"}'; } >"$tmp/big.json"
    call POST /api/customers -H "Authorization: Bearer $agent_token" -H 'Content-Type: application/json' \
        --data-binary "@$tmp/big.json"
    expect_problem 413 payload-too-large "a body over 1 MiB"
}

rule_roles() {
    post /api/customers '{"name": "x"}'
    expect_problem 401 unauthorized "POST without a token"
    get /api/customers
    expect_problem 401 unauthorized "list without a token"
    post /api/customers "{\"name\": \"by viewer\", \"tags\": [\"$tag\"]}" "$viewer_token"
    expect_problem 403 forbidden "viewer POST"
    create "{\"name\": \"by admin $run\", \"tags\": [\"$tag\"]}" "$admin_token"
    named "by agent"
    get "/api/customers/$CID" "$viewer_token"
    expect 200 "viewer GET"
    get "/api/customers?tag=$tag" "$viewer_token"
    expect 200 "viewer list"
    patch "/api/customers/$CID" '{"status": "active"}' "$viewer_token"
    expect_problem 403 forbidden "viewer PATCH"
    patch "/api/customers/$CID" '{"status": "active"}' "$agent_token"
    expect 200 "agent PATCH"
    delete "/api/customers/$CID" "$viewer_token"
    expect_problem 403 forbidden "viewer DELETE"
    delete "/api/customers/$CID" "$agent_token"
    expect_problem 403 forbidden "agent DELETE"
    delete "/api/customers/$CID" "$admin_token"
    expect 204 "admin DELETE"
}

rule_get_etag_304_404_400() {
    named "Etag"
    get "/api/customers/$CID" "$viewer_token"
    expect 200 "GET"
    check "GET" 'is_customer and .id == $id' --arg id "$CID"
    [[ $(header ETag) == '"1"' ]] || fail "ETag is '$(header ETag)'"
    get "/api/customers/$CID" "$viewer_token" -H 'If-None-Match: "1"'
    expect 304 "If-None-Match current"
    [[ -z $BODY && $(header ETag) == '"1"' ]] || fail "304 with a body or without the ETag"
    get "/api/customers/$CID" "$viewer_token" -H 'If-None-Match: "7"'
    expect 200 "If-None-Match stale"
    get /api/customers/0123456789abcdef01234567 "$viewer_token"
    expect_problem 404 not-found "unknown id"
    get /api/customers/not-an-id "$viewer_token"
    expect_problem 400 bad-parameter "bad id"
    get /api/customers/0123456789ABCDEF01234567 "$viewer_token"
    expect_problem 400 bad-parameter "upper-case id"
}

rule_patch_merge_rules() {
    named "Patchy" '{"status": "prospect", "contact_info": {"email": "p@example.com", "phone": "123", "address": "Here"}}'
    local created=$CUSTOMER
    patch "/api/customers/$CID" '{"contact_info": {"phone": null}}' "$agent_token"
    expect 200 "clear the phone"
    check "phone cleared, the rest kept" '.contact_info == {email: "p@example.com", phone: null, address: "Here"}
        and .version == 2 and .status == "prospect"'
    [[ $(header ETag) == '"2"' ]] || fail "ETag after PATCH is '$(header ETag)'"
    patch "/api/customers/$CID" '{"contact_info": null}' "$agent_token"
    expect 200 "contact_info null"
    check "contact_info null clears every field" '.contact_info == {email: null, phone: null, address: null} and .version == 3'
    patch "/api/customers/$CID" '{"name": "Patchy 2", "tags": ["a", "b"], "status": "churned"}' "$agent_token"
    expect 200 "set fields"
    check "set fields" '.name == "Patchy 2" and .tags == ["a", "b"] and .status == "churned" and .version == 4
        and .created_at == $c.created_at and .updated_at > $c.updated_at' --argjson c "$created"
    local before=$BODY
    patch "/api/customers/$CID" '{"name": "Patchy 2", "tags": ["a", "b"]}' "$agent_token"
    expect 200 "no-op PATCH"
    check "a PATCH that changes nothing leaves version and updated_at" '. == $b' --argjson b "$before"
    [[ $(header ETag) == '"4"' ]] || fail "ETag after no-op is '$(header ETag)'"
    patch "/api/customers/$CID" '{"tags": null}' "$agent_token"
    expect 200 "tags null"
    check "tags null clears" '.tags == []'
    call PATCH "/api/customers/$CID" -H "Authorization: Bearer $agent_token" \
        -H 'Content-Type: application/json' --data-binary '{"status": "active"}'
    expect 200 "PATCH as application/json"
}

rule_patch_validation() {
    named "Strict"
    patch "/api/customers/$CID" '{"version": 5, "id": "x", "name": "", "tags": ["a", "a"], "created_at": "x", "foo": 1}' "$agent_token"
    expect_invalid_fields "bad patch" version:read_only id:read_only name:required 'tags[1]:duplicate' \
        created_at:read_only foo:unknown
    patch "/api/customers/$CID" '{"name": null}' "$agent_token"
    expect_problem 422 validation "name null"
    patch "/api/customers/$CID" '{"status": {"$ne": "lead"}}' "$agent_token"
    expect_invalid_fields "operator in status" status:type
    patch "/api/customers/$CID" '[{"op": "replace"}]' "$agent_token"
    expect_problem 422 validation "a JSON Patch array"
    call PATCH "/api/customers/$CID" -H "Authorization: Bearer $agent_token" \
        -H 'Content-Type: text/plain' --data-binary '{}'
    expect_problem 415 unsupported-media-type "PATCH text/plain"
    get "/api/customers/$CID" "$agent_token"
    check "nothing changed" '.version == 1'
    patch /api/customers/0123456789abcdef01234567 '{"name": "x"}' "$agent_token"
    expect_problem 404 not-found "PATCH unknown"
}

rule_if_match() {
    named "Conditional"
    patch "/api/customers/$CID" '{"status": "active"}' "$agent_token" -H 'If-Match: "2"'
    expect_problem 412 precondition-failed "stale If-Match"
    patch "/api/customers/$CID" '{"status": "active"}' "$agent_token" -H 'If-Match: W/"1"'
    expect_problem 412 precondition-failed "weak If-Match"
    patch "/api/customers/$CID" '{"status": "active"}' "$agent_token" -H 'If-Match: "1"'
    expect 200 "current If-Match"
    patch "/api/customers/$CID" '{"status": "inactive"}' "$agent_token" -H 'If-Match: *'
    expect 200 "If-Match *"
    check "If-Match *" '.version == 3'
    delete "/api/customers/$CID" "$admin_token" -H 'If-Match: "2"'
    expect_problem 412 precondition-failed "stale If-Match on DELETE"
    get "/api/customers/$CID" "$agent_token"
    expect 200 "still there after a 412"
    delete "/api/customers/$CID" "$admin_token" -H 'If-Match: "3"'
    expect 204 "DELETE with the current If-Match"
    patch "/api/customers/$CID" '{"status": "active"}' "$agent_token" -H 'If-Match: *'
    expect_problem 404 not-found "If-Match * on a deleted customer"
}

rule_concurrent_patches_one_wins() {
    named "Race"
    local i
    for i in 1 2 3 4 5 6 7 8; do
        curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 -X PATCH \
            -H "Authorization: Bearer $agent_token" -H 'Content-Type: application/json' \
            -H 'If-Match: "1"' --data-binary "{\"name\": \"Race $i\"}" \
            "$base/api/customers/$CID" >"$tmp/race.$i" &
    done
    wait
    local ok=$(cat "$tmp"/race.* | grep -c '^200$' || true)
    local lost=$(cat "$tmp"/race.* | grep -c '^412$' || true)
    ((ok == 1 && lost == 7)) || fail "8 PATCHes with If-Match \"1\": $ok answered 200, $lost 412: $(cat "$tmp"/race.* | tr '\n' ' ')"
    get "/api/customers/$CID" "$agent_token"
    check "one change" '.version == 2'
}

rule_delete_tombstone_invisible() {
    named "Doomed"
    delete "/api/customers/$CID" "$admin_token"
    expect 204 "DELETE"
    [[ -z $BODY ]] || fail "204 with a body"
    get "/api/customers/$CID" "$agent_token"
    expect_problem 404 not-found "GET after DELETE"
    get "/api/customers?tag=$tag&limit=100" "$agent_token"
    check "lists skip it" 'all(.data[]; .id != $id)' --arg id "$CID"
    get "/api/customers?q=Doomed&limit=100" "$agent_token"
    check "searches skip it" 'all(.data[]; .id != $id)' --arg id "$CID"
    delete "/api/customers/$CID" "$admin_token"
    expect_problem 404 not-found "DELETE again"
    delete /api/customers/0123456789abcdef01234567 "$admin_token"
    expect_problem 404 not-found "DELETE unknown"
    delete /api/customers/xyz "$admin_token"
    expect_problem 400 bad-parameter "DELETE bad id"
}

# walk QUERY [HOOK]: every page of GET /api/customers?QUERY; prints the ids in order. HOOK runs
# after each page with the page number.
walk() {
    local query=$1 hook=${2:-} cursor="" page=0
    while :; do
        get "/api/customers?$query${cursor:+&cursor=$cursor}" "$viewer_token"
        expect 200 "page $page of ?$query"
        check "page shape" '(.data | type == "array" and all(.[]; is_customer))
            and (.next_cursor == null or (.next_cursor | type == "string"))'
        jq -r '.data[].id' <<<"$BODY"
        cursor=$(jq -r '.next_cursor // empty' <<<"$BODY")
        cursor=$(jq -rn --arg c "$cursor" '$c | @uri')
        page=$((page + 1))
        [[ -n $hook ]] && $hook "$page" >/dev/null
        [[ -n $cursor ]] || break
        ((page < 100)) || fail "more than 100 pages"
    done
}

rule_list_shape_and_default_sort() {
    local t=$tag-shape
    create "{\"name\": \"S1\", \"tags\": [\"$t\"]}"
    create "{\"name\": \"S2\", \"tags\": [\"$t\"]}"
    get "/api/customers?tag=$t" "$viewer_token"
    expect 200 "list"
    check "newest first, then by id" '(keys == ["data", "next_cursor"]) and .next_cursor == null
        and (.data | length == 2 and .[0].name == "S2" and .[1].name == "S1")'
    get "/api/customers?tag=$t&limit=1" "$viewer_token"
    check "limit 1 with more" '(.data | length == 1) and (.next_cursor | type == "string")'
    get "/api/customers?tag=$t&limit=2" "$viewer_token"
    check "next_cursor null exactly at the end" '(.data | length == 2) and .next_cursor == null'
}

rule_list_sorts() {
    local t=$tag-sort id_b
    create "{\"name\": \"b\", \"tags\": [\"$t\"]}"
    id_b=$CID
    create "{\"name\": \"B\", \"tags\": [\"$t\"]}"
    create "{\"name\": \"a\", \"tags\": [\"$t\"]}"
    create "{\"name\": \"\u00e9\", \"tags\": [\"$t\"]}"
    create "{\"name\": \"A\", \"tags\": [\"$t\"]}"
    get "/api/customers?tag=$t&sort=name" "$viewer_token"
    check "names compare bytewise" '[.data[].name] == ["A", "B", "a", "b", "\u00e9"]'
    get "/api/customers?tag=$t&sort=-name&limit=2" "$viewer_token"
    check "-name" '[.data[].name] == ["\u00e9", "b"]'
    get "/api/customers?tag=$t&sort=created_at" "$viewer_token"
    check "created_at ascending" '[.data[].name] == ["b", "B", "a", "\u00e9", "A"]'
    patch "/api/customers/$id_b" '{"status": "active"}' "$agent_token"
    get "/api/customers?tag=$t&sort=-updated_at&limit=1" "$viewer_token"
    check "-updated_at" '.data[0].id == $id' --arg id "$id_b"
    get "/api/customers?tag=$t&sort=updated_at" "$viewer_token"
    check "updated_at" '.data[-1].id == $id' --arg id "$id_b"
    create "{\"name\": \"a\", \"tags\": [\"$t\"]}"
    get "/api/customers?tag=$t&sort=name" "$viewer_token"
    check "ties by id, same direction" '[.data[] | select(.name == "a") | .id] | . == sort'
    get "/api/customers?tag=$t&sort=-name" "$viewer_token"
    check "ties by id descending" '[.data[] | select(.name == "a") | .id] | . == (sort | reverse)'
}

rule_list_filters() {
    local t=$tag-filter first_created
    create "{\"name\": \"Mary (a.k.a. M*) $run\", \"status\": \"active\", \"tags\": [\"$t\", \"vip\"],
        \"contact_info\": {\"email\": \"MARY.$run@Example.com\"}}"
    first_created=$(jq -r .created_at <<<"$CUSTOMER")
    local mary=$CID
    create "{\"name\": \"Maryland $run\", \"status\": \"prospect\", \"tags\": [\"$t\"]}"
    local maryland=$CID
    create "{\"name\": \"Zed $run\", \"tags\": [\"$t\"], \"contact_info\": {\"email\": \"z.$run@mary.org\"}}"
    local zed=$CID
    f() { get "/api/customers?tag=$t&$1" "$viewer_token"; expect 200 "?$1"; jq -c '[.data[].id] | sort' <<<"$BODY"; }
    ids() { printf '%s\n' "$@" | jq -R . | jq -sc sort; }
    [[ $(f status=active) == "$(ids "$mary")" ]] || fail "status=active"
    [[ $(f status=active,prospect) == "$(ids "$mary" "$maryland")" ]] || fail "status list"
    [[ $(f status=lead) == "$(ids "$zed")" ]] || fail "status=lead (the default)"
    get "/api/customers?tag=vip&q=$run" "$viewer_token"
    check "tag" '[.data[].id] == [$id]' --arg id "$mary"
    [[ $(f q=mARy) == "$(ids "$mary" "$maryland" "$zed")" ]] || fail "q matches name or email, any case"
    [[ $(f q=%28a.k.a.%20m%2A%29) == "$(ids "$mary")" ]] || fail "q with metacharacters is literal"
    [[ $(f q=.%2A) == "[]" ]] || fail "q .* is literal, not a pattern"
    [[ $(f q=a%2A) == "[]" ]] || fail "q a* is literal"
    [[ $(f q=%28) == "$(ids "$mary")" ]] || fail "q ( is literal (no error)"
    [[ $(f q=%5E%5BA-Z%5D) == "[]" ]] || fail "q ^[A-Z] is literal"
    [[ $(f q=EXAMPLE.com) == "$(ids "$mary")" ]] || fail "q on email"
    [[ $(f "created_after=$first_created") == "$(ids "$mary" "$maryland" "$zed")" ]] || fail "created_after inclusive"
    [[ $(f "created_before=$first_created") == "[]" ]] || fail "created_before exclusive"
    local later
    later=$(jq -r .created_at <<<"$CUSTOMER")
    [[ $(f "created_after=$first_created&created_before=$later") == "$(ids "$mary" "$maryland")" ]] || fail "date window"
    [[ $(f "created_after=${first_created/Z/%2B00:00}") == "$(ids "$mary" "$maryland" "$zed")" ]] || fail "offset form"
}

rule_list_bad_parameters() {
    local q201
    q201=$(printf 'q%.0s' {1..201})
    local bad=(limit=0 limit=101 limit=abc limit=1.5 sort=email sort=-status sort=
        status=vip status=lead,lead status=lead, status= q= "q=$q201" tag= created_after=yesterday
        created_before=2026-13-01T00:00:00Z unknown=1 "limit=5&limit=6" "status=lead&status=active"
        cursor=garbage "cursor=eyJzIjoiLWNyZWF0ZWRfYXQifQ")
    local p
    for p in "${bad[@]}"; do
        get "/api/customers?$p" "$viewer_token"
        expect_problem 400 bad-parameter "?$p"
    done
    get "/api/customers?q=$(printf 'q%.0s' {1..200})" "$viewer_token"
    expect 200 "q of 200 characters"
    get "/api/customers?limit=100" "$viewer_token"
    expect 200 "limit 100"
}

rule_list_cursor_bound_to_sort_and_filters() {
    local t=$tag-cursor
    named "C1" && named "C2"
    create "{\"name\": \"C3\", \"tags\": [\"$t\"]}" && create "{\"name\": \"C4\", \"tags\": [\"$t\"]}"
    get "/api/customers?tag=$t&limit=1" "$viewer_token"
    local cursor
    cursor=$(jq -rn --arg c "$(jq -r .next_cursor <<<"$BODY")" '$c | @uri')
    get "/api/customers?tag=$t&limit=1&cursor=$cursor" "$viewer_token"
    expect 200 "same sort and filters"
    get "/api/customers?tag=$t&limit=1&sort=name&cursor=$cursor" "$viewer_token"
    expect_problem 400 bad-parameter "cursor with another sort"
    get "/api/customers?tag=$tag&limit=1&cursor=$cursor" "$viewer_token"
    expect_problem 400 bad-parameter "cursor with other filters"
    get "/api/customers?tag=$t&limit=1&status=lead&cursor=$cursor" "$viewer_token"
    expect_problem 400 bad-parameter "cursor with an added filter"
    get "/api/customers?tag=$t&limit=1&cursor=${cursor:0:10}x${cursor:11}" "$viewer_token"
    expect_problem 400 bad-parameter "tampered cursor"
}

walk_tag=
insert_during_walk() { create "$(jq -nc --arg n "inserted $1 $RANDOM" --arg t "$walk_tag" '{name: $n, tags: [$t]}')"; }

rule_list_walk_exactly_once() {
    walk_tag=$tag-walk
    local i sort
    for i in $(seq 1 26); do
        create "$(jq -nc --arg n "walker $(printf '%02d' $((i * 7 % 26)))" --arg t "$walk_tag" '{name: $n, tags: [$t]}')"
        echo "$CID" >>"$tmp/walk-originals"
    done
    for sort in -created_at created_at name -name -updated_at; do
        walk "tag=$walk_tag&limit=4&sort=$sort" insert_during_walk >"$tmp/walk-seen"
        local dups
        dups=$(sort "$tmp/walk-seen" | uniq -d | wc -l)
        ((dups == 0)) || fail "sort $sort: $dups records repeated in the walk"
        local missing
        missing=$(sort "$tmp/walk-originals" | comm -23 - <(sort "$tmp/walk-seen") | wc -l)
        ((missing == 0)) || fail "sort $sort: $missing records that existed for the whole walk were skipped"
    done
}

# ---- Kafka -------------------------------------------------------------------------------------

# events_of ID: the topic's messages keyed by ID, as JSON lines {type, key, rid, value}.
events_of() {
    kcat -C -b "$CRM_KAFKA_BROKERS" -t crm.customers.v1 -o beginning -e -J -q 2>/dev/null |
        jq -c --arg id "$1" 'select(.key == $id) | {key, rid: (.headers // [] | . as $h
            | [range(0; length; 2) | select($h[.] == "x-request-id") | $h[. + 1]] | first),
            value: (.payload | fromjson)}'
}
has_events() { [[ $(events_of "$1" | wc -l) -ge $2 ]]; }

rule_events_created_updated_deleted() {
    command -v kcat >/dev/null || fail "kcat is not installed"
    create "{\"name\": \"Evented $run\", \"tags\": [\"$tag\"]}" "$agent_token" -H "X-Request-Id: cust-$run-create"
    local id=$CID created=$CUSTOMER
    patch "/api/customers/$id" '{"status": "active"}' "$agent_token" -H "X-Request-Id: cust-$run-update"
    expect 200 "update"
    local updated=$BODY
    delete "/api/customers/$id" "$admin_token" -H "X-Request-Id: cust-$run-delete"
    expect 204 "delete"
    wait_for 20 has_events "$id" 3 || fail "the 3 events of $id did not reach Kafka within 20 s: $(events_of "$id")"
    events_of "$id" >"$tmp/events"
    jq -se --argjson c "$created" --argjson u "$updated" --arg id "$id" --arg run "$run" '
        def is_uuid: type == "string" and test("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
        def is_time: type == "string" and test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$");
        def ok($type; $rid; $customer): .key == $id and .rid == $rid
            and (.value | keys == ["customer", "customer_id", "id", "occurred_at", "type"])
            and .value.type == $type and .value.customer_id == $id and (.value.id | is_uuid)
            and (.value.occurred_at | is_time) and .value.customer == $customer;
        # at least once: a message may repeat, but the first of each comes in order
        (reduce .[] as $e ([]; if any(.[]; .value.id == $e.value.id) then . else . + [$e] end)) as $first
        | ($first | length) == 3
        and ($first[0] | ok("customer.created"; "cust-\($run)-create"; $c))
        and ($first[1] | ok("customer.updated"; "cust-\($run)-update"; $u))
        and ($first[2] | ok("customer.deleted"; "cust-\($run)-delete"; null))' "$tmp/events" >/dev/null ||
        fail "the events of $id are not created, updated, deleted with the right key, header and value: $(cat "$tmp/events")"
}

rule_metrics() {
    local metrics
    metrics=$(curl -fsS --max-time 5 "http://127.0.0.1:${CRM_CUSTOMERS_PORT:-8082}/metrics") ||
        fail "no /metrics on the customers service"
    grep -q '^crm_customer_events_published_total' <<<"$metrics" || fail "no events published counter"
    grep -q '^crm_customer_outbox_backlog' <<<"$metrics" || fail "no outbox backlog gauge"
}

# ---- main -------------------------------------------------------------------------------------

wait_for 30 curl -sf "$base/readyz" || fail "the gateway at $base is not ready"
login "$admin_name" "$admin_password"
admin_token=$ACCESS
user agent
agent_token=$ACCESS
user viewer
viewer_token=$ACCESS
echo "customers_api: run $run against $base"

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
    printf 'customers_api: %d of %d rules failed: %s\n' "${#failed[@]}" "$count" "${failed[*]}" >&2
    exit 1
fi
echo "customers_api: all $count rules passed"
