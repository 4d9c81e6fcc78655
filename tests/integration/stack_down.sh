#!/usr/bin/env bash
# Fixture cleanup: stops the test stack and proves that no process of it is left.
. "$(dirname "$0")/lib.sh"
pids=$(cat "$CRM_VAR"/run/*.pid 2>/dev/null || true)
"$CRM_SOURCE_DIR/deploy/local/stack.sh" down
for pid in $pids; do
    if kill -0 "$pid" 2>/dev/null; then
        fail "process $pid ($(tr '\0' ' ' </proc/$pid/cmdline | cut -c1-80)) survived down"
    fi
done
left=$(pgrep -f -- "$CRM_VAR" || true)
[[ -z $left ]] || fail "processes still use $CRM_VAR: $left"
pass "no process left ($(wc -w <<<"$pids") stopped)"
