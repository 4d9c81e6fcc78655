# The drills' own stack (make soak, make memcheck): every port from one base below the
# ephemeral range, state under build/, stopped on exit whatever happens. Source it after
# ../integration/lib.sh, then call drill_stack_up BASE NAME.
# shellcheck shell=bash
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export CRM_SOURCE_DIR=$root

# drill_stack_up BASE NAME: a fresh stack on BASE+17 (FerretDB), +80..83 (gateway, services),
# +92/93 (Kafka), state in build/NAME-var, rate limits off; `down` runs on exit.
drill_stack_up() {
    local base=$1
    export CRM_VAR=$root/build/$2-var
    export CRM_BIN_DIR=${CRM_BIN_DIR:-$root/build/release/bin}
    export CRM_GATEWAY_PORT=$((base + 80)) CRM_AUTH_PORT=$((base + 81))
    export CRM_CUSTOMERS_PORT=$((base + 82)) CRM_CASES_PORT=$((base + 83))
    export CRM_FERRETDB_PORT=$((base + 17)) CRM_KAFKA_PORT=$((base + 92))
    export CRM_KAFKA_CONTROLLER_PORT=$((base + 93))
    export CRM_MONGO_URI="mongodb://127.0.0.1:$CRM_FERRETDB_PORT/?serverSelectionTimeoutMS=1000&connectTimeoutMS=1000"
    export CRM_KAFKA_BROKERS=127.0.0.1:$CRM_KAFKA_PORT
    export CRM_RATE_AUTH_PER_MINUTE=0 CRM_RATE_API_PER_SECOND=0
    "$root/deploy/local/stack.sh" down >/dev/null 2>&1 || true
    rm -rf "$CRM_VAR"
    trap drill_stack_down EXIT
    "$root/deploy/local/stack.sh" up >"$root/build/$2-up.log" 2>&1 ||
        { cat "$root/build/$2-up.log" >&2; fail "the drill's stack did not come up"; }
}

drill_stack_down() {
    "$root/deploy/local/stack.sh" down >/dev/null 2>&1 || true
    [[ -n ${tmp:-} ]] && rm -rf "$tmp"
}

# rss_kib PART: resident memory of a running part, in KiB.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$(<"$CRM_VAR/run/$1.pid")/status"; }
