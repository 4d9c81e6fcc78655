#!/usr/bin/env bash
# Fixture cleanup: stops the test stack, proves that no process of it is left and, when the stack
# ran sanitized binaries, that no part's log holds an AddressSanitizer, LeakSanitizer or UBSan
# report (leaks are reported when a part exits after SIGTERM, so this check comes after `down`).
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

if [[ ${CRM_EXPECT_SANITIZED:-0} == 1 ]]; then
    for part in auth customers cases gateway; do
        grep -q __asan_init < <(nm "$CRM_BIN_DIR/crm-$part") || fail "crm-$part is not built with ASan"
    done
    pattern='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: UndefinedBehaviorSanitizer'
    if reports=$(grep -EHn "$pattern" "$CRM_VAR"/log/*.log); then
        printf '%s\n' "$reports" >&2
        fail "sanitizer reports in the stack's logs (full reports in $CRM_VAR/log)"
    fi
    pass "no sanitizer report in $(cat "$CRM_VAR"/log/*.log | wc -l) log lines of the sanitized stack"
fi
