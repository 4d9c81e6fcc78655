#!/usr/bin/env bash
# Several instances and a rolling restart under load. The test stack grows a second instance of
# every service (two crm-cases consumers share the cascade's consumer group), the gateway is
# restarted to balance over both, then wrk drives a steady mix of reads and writes through it
# while every service instance in turn gets SIGTERM and is started again. Passes only if the
# load generator counts no answer other than 2xx and no socket error, every instance served part
# of the load, each one really was replaced, and a cascade still settles across the two
# consumers. Afterwards the stack is put back to one instance of each (also when it fails).
. "$(dirname "$0")/lib.sh"
: "${CRM_SOURCE_DIR:?}" "${CRM_VAR:?}" "${CRM_GATEWAY_PORT:?}"
command -v wrk >/dev/null || fail "wrk is not installed (deploy/local/deps.sh installs it)"
stack=$CRM_SOURCE_DIR/deploy/local/stack.sh
tmp=$(mktemp -d)
wrk_pid=
restore() {
    [[ -n $wrk_pid ]] && kill "$wrk_pid" 2>/dev/null
    CRM_INSTANCES=2 "$stack" stop auth-2 customers-2 cases-2 >/dev/null 2>&1 || true
    CRM_INSTANCES=1 "$stack" restart gateway cases >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap restore EXIT
. "$(dirname "$0")/api.sh"
export CRM_INSTANCES=2
instances=(auth auth-2 customers customers-2 cases cases-2)
# Long enough for six restarts and then the cascade: the faster the stack takes the mixed load,
# the more customers it creates, and the longer FerretDB takes the relay to publish them.
duration=${CRM_ROLLING_SECONDS:-60}

"$stack" start auth-2 customers-2 cases-2 >"$tmp/stack.log" 2>&1 || { cat "$tmp/stack.log"; fail "second instances did not start"; }
# The gateway, and crm-cases for its reference checks, learn both instances' addresses.
"$stack" restart gateway cases >>"$tmp/stack.log" 2>&1 || { cat "$tmp/stack.log"; fail "the gateway and crm-cases did not restart"; }
login
subject=$(customer_with_cases 1)
victim=$(customer_with_cases 4)
declare -A before
for part in "${instances[@]}"; do before[$part]=$(<"$CRM_VAR/run/$part.pid"); done
lines_before() { wc -l <"$CRM_VAR/log/$1.log"; }
declare -A log_mark
for part in "${instances[@]}"; do log_mark[$part]=$(lines_before "$part"); done

CRM_TOKEN=$token CRM_CUSTOMER_ID=$subject wrk -t2 -c8 -d"${duration}s" --timeout 10s \
    -s "$CRM_SOURCE_DIR/tests/load/mixed.lua" "$base" >"$tmp/wrk.out" 2>&1 &
wrk_pid=$!
sleep 2
started=$SECONDS
for part in "${instances[@]}"; do
    "$stack" restart "$part" >>"$tmp/stack.log" 2>&1 || { cat "$tmp/stack.log"; fail "restart of $part failed"; }
    sleep 0.5
done
restarts=$((SECONDS - started))
kill -0 "$wrk_pid" 2>/dev/null || fail "the restarts ($restarts s) outlasted the load (${duration} s): raise CRM_ROLLING_SECONDS"
# The cascade across the two consumers of the group, while the load goes on.
delete_customer "$victim"
# The delete's event queues behind the outbox events of every customer the load created (the
# relay publishes them in order, at FerretDB's pace under ASan), so the bound here is generous;
# cascade.sh holds the 2 s promise on a calm stack.
wait_for 120 no_cases "$victim" || fail "the cascade did not settle with two consumers within 120 s: $(case_count "$victim") left"
wait "$wrk_pid" || { cat "$tmp/wrk.out"; fail "wrk failed"; }
wrk_pid=
cat "$tmp/wrk.out"

for part in "${instances[@]}"; do
    now=$(<"$CRM_VAR/run/$part.pid")
    [[ $now != "${before[$part]}" ]] || fail "$part was not replaced (pid $now)"
    grep -q '"msg":"signal 15: draining in-flight requests"' <(tail -n +"${log_mark[$part]}" "$CRM_VAR/log/$part.log") ||
        fail "$part's log shows no drain after SIGTERM"
    served=$(tail -n +"${log_mark[$part]}" "$CRM_VAR/log/$part.log" | grep -c '"route":"/api/' || true)
    ((served > 0)) || fail "$part served none of the load: the gateway did not balance over it"
    echo "$part served $served requests"
done
requests=$(awk '/requests in/ {print $1}' "$tmp/wrk.out")
non2xx=$(awk '/^status / && ($2 < 200 || $2 > 299) {n += $3} END {print n + 0}' "$tmp/wrk.out")
created=$(awk '/^status 201 / {print $3}' "$tmp/wrk.out")
grep -q 'Socket errors' "$tmp/wrk.out" && fail "socket errors during the rolling restart"
grep -q 'Non-2xx' "$tmp/wrk.out" && fail "non-2xx answers during the rolling restart"
((non2xx == 0)) || fail "$non2xx answers were not 2xx"
((requests >= 100)) || fail "only $requests requests: the load was too thin to mean anything"
((${created:-0} > 0)) || fail "no record was created under load"
pass "rolling restart of ${#instances[@]} instances in $restarts s under load: $requests requests, $created created, 0 errors"
