#!/usr/bin/env bash
# Memcheck drill (make memcheck): every executable of ours runs under valgrind's memcheck on a
# stack of its own while the Postman collection (tests/postman, by newman) goes through the whole
# API; after a clean SIGTERM each process must report 0 bytes definitely lost and 0 memcheck
# errors. Reports stay in build/memcheck-var/log/valgrind-*.log.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/drill.sh"
command -v valgrind >/dev/null || fail "valgrind is not installed (make deps installs it)"
export CRM_WRAP="valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \
--show-leak-kinds=definite --num-callers=30 --log-file=$root/build/memcheck-var/log/valgrind-%p.log"
# Argon2 at its smallest allowed cost and long timeouts: valgrind runs code ~30x slower.
export CRM_PASSWORD_HASH_MEMORY_KIB=8192 CRM_PASSWORD_HASH_PASSES=1
export CRM_UPSTREAM_TIMEOUT_MS=60000 CRM_SHUTDOWN_GRACE_SECONDS=30
drill_stack_up 29200 memcheck
tmp=$(mktemp -d)
CRM_GATEWAY_PORT=$CRM_GATEWAY_PORT "$root/tests/integration/newman.sh" >"$tmp/newman.log" 2>&1 ||
    { tail -n 60 "$tmp/newman.log"; fail "the Postman collection failed under valgrind"; }
grep -E 'requests|assertions' "$tmp/newman.log" | head -4
"$root/deploy/local/stack.sh" down >/dev/null

status=0
printf '%-14s %8s %14s %8s\n' executable pid "definitely" errors
for log in "$CRM_VAR"/log/valgrind-*.log; do
    exe=$(awk '/^==[0-9]+== Command:/ {print $3; exit}' "$log")
    pid=$(basename "$log" .log | cut -d- -f2)
    lost=$(awk '/definitely lost:/ {gsub(",", "", $4); print $4; exit}' "$log")
    errors=$(awk '/ERROR SUMMARY:/ {print $4; exit}' "$log")
    [[ -n $errors ]] || { echo "FAIL: $log has no summary (did $exe exit cleanly?)"; status=1; continue; }
    printf '%-14s %8s %14s %8s\n' "$(basename "$exe")" "$pid" "${lost:-0} bytes" "$errors"
    [[ ${lost:-0} == 0 && $errors == 0 ]] || status=1
done
seen=$(ls "$CRM_VAR"/log/valgrind-*.log 2>/dev/null | wc -l)
((seen >= 4)) || { echo "FAIL: only $seen valgrind reports: not every executable ran under valgrind"; status=1; }
((status == 0)) && pass "memcheck: $seen processes, 0 bytes definitely lost, 0 errors" ||
    echo "FAIL: see the reports in $CRM_VAR/log"
exit $status
