#!/usr/bin/env bash
# A bad CRM_* value stops each executable at once with exit status 2 and names the variable.
. "$(dirname "$0")/lib.sh"

expect_exit2() {
    local binary=$1 variable=$2 value=$3 output status=0
    output=$(env "$variable=$value" timeout 10 "$CRM_BIN_DIR/$binary" 2>&1) || status=$?
    # libmongoc's own start-up (a library constructor, before main) warns outside our format when
    # a crashed process left /dev/shm/mongoc-<pid> for this pid; that one line is not ours.
    output=$(grep -v 'mongoc: Falling back to malloc for counters' <<<"$output" || true)
    ((status == 2)) || fail "$binary with $variable=$value exited $status: $output"
    grep -q "$variable" <<<"$output" || fail "$binary did not name $variable: $output"
    jq -e . <<<"$output" >/dev/null || fail "$binary's message is not a JSON log line: $output"
    pass "$binary: $variable=$value -> exit 2"
}

expect_exit2 crm-gateway CRM_GATEWAY_PORT abc
expect_exit2 crm-gateway CRM_CASES_URL ftp://example
expect_exit2 crm-auth CRM_AUTH_PORT 70000
expect_exit2 crm-auth CRM_JWT_TTL_SECONDS 5
expect_exit2 crm-customers CRM_MONGO_URI postgres://x
expect_exit2 crm-customers CRM_KAFKA_PARTITIONS 0
expect_exit2 crm-cases CRM_LOG_LEVEL loud
expect_exit2 crm-cases CRM_CASES_PORT 12x
expect_exit2 crm-gateway CRM_JWT_PUBLIC_KEY_FILES /nonexistent/jwt.pub
expect_exit2 crm-customers CRM_JWT_PUBLIC_KEY_FILES "$0" # not a key
# The HTTP limits are read by every process (crm-cases once ignored CRM_HTTP_MAX_HEADERS): each
# refuses a value below its minimum.
for binary in crm-gateway crm-auth crm-customers crm-cases; do
    for variable in CRM_HTTP_THREADS CRM_HTTP_CONNECTION_TIMEOUT_SECONDS CRM_HTTP_MAX_CONNECTIONS \
        CRM_HTTP_MAX_CONNECTIONS_PER_IP CRM_HTTP_MAX_HEADERS; do
        expect_exit2 "$binary" "$variable" -1
    done
done
