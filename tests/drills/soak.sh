#!/usr/bin/env bash
# Soak drill (make soak; minutes, not part of make test): the mixed workload of
# tests/load/mixed.lua through the gateway at moderate concurrency on a stack of its own, then:
# zero 5xx (and zero other non-2xx), every record the load generator saw created is there (its
# ids against a full walk of the lists), and each process's memory flat after warm-up.
#   SOAK_SECONDS (300)  SOAK_CONNECTIONS (16)  SOAK_GROWTH_KIB (4096, allowed RSS growth)
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/drill.sh"
seconds=${SOAK_SECONDS:-300}
connections=${SOAK_CONNECTIONS:-16}
growth_allowed=${SOAK_GROWTH_KIB:-4096}
command -v wrk >/dev/null || fail "wrk is not installed (make deps installs it)"
# The load's token must outlive the run.
export CRM_JWT_TTL_SECONDS=$((seconds + 600 > 86400 ? 86400 : (seconds + 600 < 900 ? 900 : seconds + 600)))
drill_stack_up 29000 soak
tmp=$(mktemp -d)
. "$root/tests/integration/api.sh"
login
subject=$(customer_with_cases 0)
parts=(gateway auth customers cases)

echo "soak: ${seconds} s, $connections connections, through http://127.0.0.1:$CRM_GATEWAY_PORT"
CRM_TOKEN=$token CRM_CUSTOMER_ID=$subject CRM_LOAD_IDS=$tmp/ids \
    wrk -t2 -c"$connections" -d"${seconds}s" --timeout 10s -s "$root/tests/load/mixed.lua" "$base" \
    >"$tmp/wrk.out" 2>&1 &
wrk_pid=$!
# RSS of each part every 5 s; the warm-up is the first fifth of the run.
warm_at=$((SECONDS + seconds / 5))
declare -A warm peak
while kill -0 "$wrk_pid" 2>/dev/null; do
    for part in "${parts[@]}"; do
        rss=$(rss_kib "$part")
        ((rss > ${peak[$part]:-0})) && peak[$part]=$rss
        ((SECONDS >= warm_at)) && [[ -z ${warm[$part]:-} ]] && warm[$part]=$rss
    done
    sleep 5
done
wait "$wrk_pid" || { cat "$tmp/wrk.out"; fail "wrk failed"; }
cat "$tmp/wrk.out"
declare -A end
for part in "${parts[@]}"; do
    end[$part]=$(rss_kib "$part")
    ((end[$part] > ${peak[$part]:-0})) && peak[$part]=${end[$part]}
done
# The token the load used expires after CRM_JWT_TTL_SECONDS: a fresh one for the checks.
login

status=0
requests=$(awk '/requests in/ {print $1}' "$tmp/wrk.out")
server_errors=$(awk '/^status 5/ {n += $3} END {print n + 0}' "$tmp/wrk.out")
non2xx=$(awk '/^status / && ($2 < 200 || $2 > 299) {n += $3} END {print n + 0}' "$tmp/wrk.out")
socket_errors=$(grep -c 'Socket errors' "$tmp/wrk.out" || true)
created=$(awk '/^status 201 / {print $3}' "$tmp/wrk.out")
cat "$tmp"/ids.* 2>/dev/null | sort >"$tmp/created"
((server_errors == 0)) || { echo "FAIL: $server_errors answers were 5xx"; status=1; }
((non2xx == 0)) || { echo "FAIL: $non2xx answers were not 2xx"; status=1; }
((socket_errors == 0)) || { echo "FAIL: socket errors"; status=1; }
[[ $(wc -l <"$tmp/created") == "${created:-0}" ]] ||
    { echo "FAIL: wrk counted ${created:-0} 201s but recorded $(wc -l <"$tmp/created") ids"; status=1; }

# Every created record, found by walking the lists (customers, and the subject's cases).
walk() { # walk PATH KIND: every id of a list, "KIND id" per line
    local cursor="" sep
    [[ $1 == *\?* ]] && sep='&' || sep='?'
    while :; do
        api GET "$1${sep}limit=100${cursor:+&cursor=$cursor}"
        [[ $STATUS == 200 ]] || fail "GET $1 answered $STATUS"
        jq -r --arg k "$2" '.data[] | "\($k) \(.id)"' <<<"$BODY"
        cursor=$(jq -r '.next_cursor // empty' <<<"$BODY")
        [[ -n $cursor ]] || break
    done
}
{ walk /api/customers customer; walk "/api/cases?customer_id=$subject" case; } | sort >"$tmp/present"
missing=$(comm -23 "$tmp/created" "$tmp/present" | wc -l)
((missing == 0)) || { echo "FAIL: $missing created records are missing:"; comm -23 "$tmp/created" "$tmp/present" | head; status=1; }

printf '\n%-10s %12s %12s %12s %10s\n' part "warm KiB" "end KiB" "peak KiB" "growth KiB"
for part in "${parts[@]}"; do
    grown=$((end[$part] - ${warm[$part]:-${end[$part]}}))
    printf '%-10s %12s %12s %12s %10s\n' "$part" "${warm[$part]:-?}" "${end[$part]}" "${peak[$part]}" "$grown"
    ((grown <= growth_allowed)) || { echo "FAIL: $part grew $grown KiB after warm-up"; status=1; }
done
printf '\nsoak: %s requests, %s created, %s 5xx, %s non-2xx, %s records missing\n' \
    "$requests" "${created:-0}" "$server_errors" "$non2xx" "$missing"
exit $status
