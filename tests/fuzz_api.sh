#!/usr/bin/env bash
# `make fuzz-api`: tests/integration/schemathesis.sh with many more test cases
# (SCHEMATHESIS_EXAMPLES per operation and phase, default 500) on a stack of its own: its own
# CRM_VAR (build/release/fuzz-api-var, made afresh) and ports (the build tree's
# CRM_ITEST_PORT_BASE + 100 onwards, so it runs beside that tree's integration stack, or
# FUZZ_API_PORT_BASE), rate limits off and day-long tokens. The stack is stopped afterwards
# whatever happens, even on Ctrl-C. SCHEMATHESIS_SEED picks another seed; SCHEMATHESIS_REPORT_DIR
# keeps the JUnit and NDJSON reports.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build/release
[[ -x $build/bin/crm-gateway ]] || { echo "fuzz-api: build first (make build)" >&2; exit 1; }
itest_base=$(sed -n 's/^CRM_ITEST_PORT_BASE:STRING=//p' "$build/CMakeCache.txt")
base=${FUZZ_API_PORT_BASE:-$((${itest_base:-28000} + 100))}

export CRM_VAR=$build/fuzz-api-var CRM_BIN_DIR=$build/bin
export CRM_GATEWAY_PORT=$((base + 80)) CRM_AUTH_PORT=$((base + 81)) CRM_CUSTOMERS_PORT=$((base + 82))
export CRM_CASES_PORT=$((base + 83)) CRM_FERRETDB_PORT=$((base + 17))
export CRM_KAFKA_PORT=$((base + 92)) CRM_KAFKA_CONTROLLER_PORT=$((base + 93))
export CRM_MONGO_URI="mongodb://127.0.0.1:$CRM_FERRETDB_PORT/?serverSelectionTimeoutMS=1000&connectTimeoutMS=1000"
export CRM_KAFKA_BROKERS=127.0.0.1:$CRM_KAFKA_PORT
export CRM_RATE_AUTH_PER_MINUTE=0 CRM_RATE_API_PER_SECOND=0 CRM_JWT_TTL_SECONDS=86400
export SCHEMATHESIS_EXAMPLES=${SCHEMATHESIS_EXAMPLES:-500}

stack() { "$root/deploy/local/stack.sh" "$@"; }
stack down >/dev/null # leftovers of an interrupted run
rm -rf "$CRM_VAR"
trap 'stack down >/dev/null' EXIT
trap 'exit 130' INT TERM
echo "fuzz-api: stack on ports $base+17..$base+93 under $CRM_VAR"
stack up
"$root/tests/integration/schemathesis.sh"
