#!/usr/bin/env bash
# make bench: what the C backend costs beyond the database it stands on, measured side by side in
# one run on a stack of its own (ports 26xxx, state in build/bench-var), loaded by wrk from a
# second process on loopback. Prints one table and the ratios against the targets of the
# benchmark issue, and writes them to bench/RESULTS.md with the machine, date and commit.
# Absolute numbers move on a shared machine; the ratios, all from this one run, are the point.
#   BENCH_SECONDS (10)       duration of each row
#   BENCH_CONNECTIONS (16)   concurrency of every row (wrk connections, floor threads)
#   BENCH_CUSTOMERS (300)    customers made before the reads (the list's collection)
#   BENCH_RESULTS (bench/RESULTS.md)  where the report goes
. "$(dirname "$0")/../tests/integration/lib.sh"
. "$(dirname "$0")/../tests/drills/drill.sh"
seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-16}
seed_customers=${BENCH_CUSTOMERS:-300}
results=${BENCH_RESULTS:-$root/bench/RESULTS.md}
port_base=26000
nginx_port=$((port_base + 90))
[[ $seconds =~ ^[1-9][0-9]*$ ]] || fail "BENCH_SECONDS must be a whole number of seconds"
[[ $connections =~ ^[1-9][0-9]*$ ]] || fail "BENCH_CONNECTIONS must be a positive number"
for tool in wrk nginx jq curl; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (make deps installs it)"
done
export CRM_BIN_DIR=${CRM_BIN_DIR:-$root/build/release/bin}
for program in crm-bench-floor crm-bench-ready; do
    [[ -x $CRM_BIN_DIR/$program ]] || fail "$CRM_BIN_DIR/$program is not built (make build)"
done
export BENCH_WRK_DIR=$root/bench/wrk
# Tokens must outlive the run; the benchmark's stack is its own.
export CRM_JWT_TTL_SECONDS=3600

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
nginx_pid=
bench_down() {
    if [[ -n $nginx_pid ]] && kill -0 "$nginx_pid" 2>/dev/null; then
        kill -QUIT "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
    fi
    drill_stack_down
}
echo "bench: starting a stack of its own on ports ${port_base}..$((port_base + 99))"
drill_stack_up "$port_base" bench
trap bench_down EXIT
# The stack's settings (keys, admin password ...) for the processes the bench starts itself.
. "$root/deploy/local/env.sh"
tmp=$(mktemp -d)
. "$root/tests/integration/api.sh"
login
export BENCH_TOKEN=$token

# ---- processes, CPU and memory ----------------------------------------------------------------
tick=$(getconf CLK_TCK)
parts=(gateway auth customers cases ferretdb)
declare -A pid_of
for part in "${parts[@]}"; do pid_of[$part]=$(<"$CRM_VAR/run/$part.pid"); done

# cpu_ticks PID...: user + system time of the processes, in clock ticks (/proc/<pid>/stat fields
# 14 and 15, counted after the command name, which may hold spaces).
cpu_ticks() {
    local total=0 line rest
    local -a fields
    for pid in "$@"; do
        read -r line <"/proc/$pid/stat" || continue
        rest=${line##*) }
        read -r -a fields <<<"$rest"
        total=$((total + fields[11] + fields[12]))
    done
    echo "$total"
}

# rss_of PID...: resident memory of the processes together, in KiB.
rss_of() {
    local total=0 key value unit
    for pid in "$@"; do
        while read -r key value unit; do
            [[ $key == VmRSS: ]] && { total=$((total + value)); break; }
        done <"/proc/$pid/status"
    done
    echo "$total"
}

# Results: one row per measurement, columns filled by measure().
rows=()
declare -A label rps p50 p99 errors cpu rss

# measure ROW LABEL EXTRA_PIDS COMMAND...: runs COMMAND (a wrk or a floor run, printing its
# result line) while sampling each process's RSS every 0.2 s, and records the row: throughput,
# latency, errors, CPU µs per request of each part (and of EXTRA_PIDS, the proxy, as "proxy"),
# and the peak RSS of each.
measure() {
    local row=$1 text=$2 extra=$3 pid line
    shift 3
    local -A before peak
    for part in "${parts[@]}"; do before[$part]=$(cpu_ticks "${pid_of[$part]}"); done
    [[ -n $extra ]] && before[proxy]=$(cpu_ticks $extra)
    "$@" >"$tmp/$row.out" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        for part in "${parts[@]}"; do
            local now
            now=$(rss_of "${pid_of[$part]}")
            ((now > ${peak[$part]:-0})) && peak[$part]=$now
        done
        if [[ -n $extra ]]; then
            now=$(rss_of $extra)
            ((now > ${peak[proxy]:-0})) && peak[proxy]=$now
        fi
        sleep 0.2
    done
    wait "$pid" || { cat "$tmp/$row.out" >&2; fail "$row: the load generator failed"; }
    local requests duration
    if line=$(grep '^BENCH ' "$tmp/$row.out"); then
        read -r _ _ requests _ duration _ p50[$row] _ p99[$row] _ errors[$row] _ <<<"$line"
    elif line=$(grep '^ops ' "$tmp/$row.out"); then
        read -r _ requests _ duration _ _ _ p50[$row] _ p99[$row] _ errors[$row] <<<"$line"
        duration=$(awk -v s="$duration" 'BEGIN {printf "%d", s * 1e6}')
    else
        cat "$tmp/$row.out" >&2
        fail "$row: no result line"
    fi
    rows+=("$row")
    label[$row]=$text
    rps[$row]=$(awk -v n="$requests" -v us="$duration" 'BEGIN {printf "%.0f", n / (us / 1e6)}')
    local who
    for who in "${parts[@]}" ${extra:+proxy}; do
        local used
        if [[ $who == proxy ]]; then used=$(($(cpu_ticks $extra) - before[proxy]))
        else used=$(($(cpu_ticks "${pid_of[$who]}") - before[$who])); fi
        cpu[$row,$who]=$(awk -v t="$used" -v hz="$tick" -v n="$requests" \
            'BEGIN {printf "%.1f", (n > 0) ? t * 1e6 / hz / n : 0}')
        rss[$row,$who]=$(awk -v k="${peak[$who]:-0}" 'BEGIN {printf "%.1f", k / 1024}')
    done
    printf 'bench: %-28s %8s req/s  p50 %6.2f ms  p99 %7.2f ms  errors %s\n' "$text" "${rps[$row]}" \
        "$(awk -v u="${p50[$row]}" 'BEGIN {print u / 1000}')" \
        "$(awk -v u="${p99[$row]}" 'BEGIN {print u / 1000}')" "${errors[$row]}"
}

# load LUA URL: wrk with the row's concurrency and duration.
load() {
    wrk -t2 -c"$connections" -d"${seconds}s" --timeout 5s -s "$BENCH_WRK_DIR/$1.lua" "$2"
}
floor() {
    "$CRM_BIN_DIR/crm-bench-floor" "$1" "$CRM_MONGO_URI" "$seconds" "$connections" ${2:+"$2"}
}

# Readiness first, on the quiet stack: each service started again on a port of its own, with its
# database up (a customers instance stopped later would first help its relay with the backlog).
declare -A ready_ms
port=$((port_base + 180))
for service in auth customers cases; do
    port=$((port + 1))
    variable=CRM_${service^^}_PORT
    samples=()
    for attempt in 1 2 3; do
        line=$(env "$variable=$port" "$CRM_BIN_DIR/crm-bench-ready" "$port" 10000 \
            "$CRM_BIN_DIR/crm-$service" 2>>"$CRM_VAR/log/ready-$service.log") || true
        samples+=("${line#ready_ms }")
    done
    ready_ms[$service]=$(printf '%s\n' "${samples[@]}" | sort -n | sed -n 2p)
    echo "bench: $service ready after ${samples[*]} ms (median ${ready_ms[$service]})"
done

# ---- data -----------------------------------------------------------------------------------
echo "bench: $seed_customers customers and one with 30 cases"
subject=$(customer_with_cases 30)
for ((i = 0; i < seed_customers; i++)); do
    api POST /api/customers "{\"name\":\"Seed $i\",\"tags\":[\"seed\"],\"status\":\"active\"}"
    [[ $STATUS == 201 ]] || fail "seeding: POST /api/customers answered $STATUS"
done
export BENCH_CUSTOMER_ID=$subject
gateway=http://127.0.0.1:$CRM_GATEWAY_PORT
echo "bench: every row ${seconds} s at $connections connections"

# ---- the workloads, each next to its anchors ------------------------------------------------
measure get_floor "get one: database floor" "" floor get "$subject"
measure get_gw "get one: gateway" "" load get "$gateway"
measure get_direct "get one: direct" "" load get "http://127.0.0.1:$CRM_CUSTOMERS_PORT"
measure list_floor "list 20: database floor" "" floor list
measure list_gw "list 20: gateway" "" load list "$gateway"
measure list_direct "list 20: direct" "" load list "http://127.0.0.1:$CRM_CUSTOMERS_PORT"
measure cases_floor "cases filter: database floor" "" floor cases "$subject"
measure cases_gw "cases filter: gateway" "" load cases "$gateway"
measure cases_direct "cases filter: direct" "" load cases "http://127.0.0.1:$CRM_CASES_PORT"
# nginx in front of the same auth instance, on the public route that needs no database.
nginx_dir=$CRM_VAR/nginx
mkdir -p "$nginx_dir"
sed -e "s|@PREFIX@|$nginx_dir|g" -e "s|@PORT@|$nginx_port|g" -e "s|@AUTH_PORT@|$CRM_AUTH_PORT|g" \
    "$root/bench/nginx.conf.in" >"$nginx_dir/nginx.conf"
nginx -p "$nginx_dir" -c "$nginx_dir/nginx.conf" -e "$nginx_dir/error.log" >"$nginx_dir/stdout.log" 2>&1 &
nginx_pid=$!
wait_for 10 curl -fsS -o /dev/null "http://127.0.0.1:$nginx_port/api/auth/jwks.json" ||
    { cat "$nginx_dir/error.log" >&2; fail "nginx did not come up"; }
nginx_pids="$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')"
measure jwks_nginx "jwks: nginx" "$nginx_pids" load jwks "http://127.0.0.1:$nginx_port"
measure jwks_gw "jwks: gateway" "" load jwks "$gateway"
measure jwks_direct "jwks: direct" "" load jwks "http://127.0.0.1:$CRM_AUTH_PORT"
kill -QUIT "$nginx_pid" && wait "$nginx_pid" 2>/dev/null || true
nginx_pid=

# Logins are never throttled here: the gateway's limits are off (drill_stack_up) and every
# login succeeds, so the per-username failure throttle never starts.
BENCH_LOGIN_BODY=$(jq -nc --arg u "${CRM_BOOTSTRAP_ADMIN_USERNAME:-admin}" --arg p "$admin_password" \
    '{username: $u, password: $p}')
export BENCH_LOGIN_BODY
measure login_gw "login: gateway" "" load login "$gateway"

# The login storm: get one through the gateway while logins run at the same concurrency.
wrk -t1 -c"$connections" -d"$((seconds + 2))s" --timeout 10s -s "$BENCH_WRK_DIR/login.lua" \
    "$gateway" >"$tmp/storm-login.out" 2>&1 &
storm=$!
sleep 1
measure storm_gw "get one: gateway, login storm" "" load get "$gateway"
wait "$storm" || true
sleep 2 # the logins auth still had queued when wrk left, before the next row samples its RSS

# The creates come last: each leaves an event for the outbox relay, and on FerretDB the relay
# takes minutes to publish a few thousand, keeping FerretDB and crm-customers busy meanwhile.
measure create_floor "create: database floor" "" floor create
measure create_gw "create: gateway" "" load create "$gateway"
measure create_direct "create: direct" "" load create "http://127.0.0.1:$CRM_CUSTOMERS_PORT"

# ---- report ---------------------------------------------------------------------------------
ms() { awk -v u="$1" 'BEGIN {printf "%.2f", u / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }
# verdict VALUE OP LIMIT: PASS or MISS
verdict() {
    awk -v v="$1" -v op="$2" -v l="$3" \
        'BEGIN {ok = (op == ">=") ? v >= l : v <= l; print (v != "none" && ok) ? "PASS" : "MISS"}'
}
auth_concurrency=${CRM_PASSWORD_HASH_CONCURRENCY:-0}
((auth_concurrency > 0)) || auth_concurrency=$(($(nproc) > 1 ? $(nproc) - 1 : 1))
hash_mib=$(awk -v k="${CRM_PASSWORD_HASH_MEMORY_KIB:-19456}" 'BEGIN {printf "%.0f", k / 1024}')
auth_login_limit=$((25 + auth_concurrency * hash_mib))
max_rss() { # max_rss PART EXCEPT_ROW...: the part's peak RSS over every row but those named
    local part=$1 row best=0
    shift
    for row in "${rows[@]}"; do
        [[ " $* " == *" $row "* ]] && continue
        best=$(awk -v a="$best" -v b="${rss[$row,$part]}" 'BEGIN {print (b > a) ? b : a}')
    done
    echo "$best"
}

report() {
    echo "## Results"
    echo
    echo "Every row ${seconds} s at $connections connections (wrk -t2 on loopback; the floor: $connections threads"
    echo "on one libmongoc pool). CPU is µs of user+system time per request from /proc/<pid>/stat;"
    echo "RSS is each process's peak during the row, in MB. \"proxy\" is nginx (all its processes)."
    echo
    echo "| workload | req/s | p50 ms | p99 ms | errors | CPU µs/req gateway | auth | customers | cases | ferretdb | proxy | RSS MB gateway | auth | customers | cases | ferretdb | proxy |"
    echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    for row in "${rows[@]}"; do
        printf '| %s | %s | %s | %s | %s |' "${label[$row]}" "${rps[$row]}" "$(ms "${p50[$row]}")" \
            "$(ms "${p99[$row]}")" "${errors[$row]}"
        for who in "${parts[@]}" proxy; do printf ' %s |' "${cpu[$row,$who]:--}"; done
        for who in "${parts[@]}" proxy; do printf ' %s |' "${rss[$row,$who]:--}"; done
        echo
    done
    echo
    echo "Readiness (exec to the first 200 on /readyz, database up, median of 3): auth ${ready_ms[auth]} ms, customers ${ready_ms[customers]} ms, cases ${ready_ms[cases]} ms."
    echo
    echo "## Ratios against the targets"
    echo
    echo "| target | measured | limit | verdict |"
    echo "|---|--:|--:|---|"
    local r
    r=$(ratio "${rps[get_gw]}" "${rps[get_floor]}")
    echo "| get one: gateway / database floor (req/s) | $r | ≥ 0.80 | $(verdict "$r" ">=" 0.8) |"
    r=$(ratio "${rps[list_gw]}" "${rps[list_floor]}")
    echo "| list 20: gateway / database floor (req/s) | $r | ≥ 0.80 | $(verdict "$r" ">=" 0.8) |"
    r=$(ratio "${rps[jwks_gw]}" "${rps[jwks_nginx]}")
    echo "| jwks: gateway / nginx (req/s) | $r | ≥ 1.00 | $(verdict "$r" ">=" 1.0) |"
    r=$(ratio "${p99[jwks_gw]}" "${p99[jwks_nginx]}")
    echo "| jwks: gateway p99 / nginx p99 | $r | ≤ 1.20 | $(verdict "$r" "<=" 1.2) |"
    echo "| get one: gateway CPU per request (µs) | ${cpu[get_gw,gateway]} | ≤ 25 | $(verdict "${cpu[get_gw,gateway]}" "<=" 25) |"
    echo "| get one: customers CPU per request (µs) | ${cpu[get_gw,customers]} | ≤ 50 | $(verdict "${cpu[get_gw,customers]}" "<=" 50) |"
    r=$(max_rss customers)
    echo "| customers peak RSS (MB) | $r | ≤ 25 | $(verdict "$r" "<=" 25) |"
    r=$(max_rss cases)
    echo "| cases peak RSS (MB) | $r | ≤ 25 | $(verdict "$r" "<=" 25) |"
    r=$(max_rss gateway)
    echo "| gateway peak RSS (MB) | $r | ≤ 15 | $(verdict "$r" "<=" 15) |"
    r=$(max_rss auth login_gw storm_gw)
    echo "| auth peak RSS outside logins (MB) | $r | ≤ 25 | $(verdict "$r" "<=" 25) |"
    r=$(awk -v a="${rss[login_gw,auth]}" -v b="${rss[storm_gw,auth]}" 'BEGIN {print (b > a) ? b : a}')
    echo "| auth peak RSS during logins (MB; $auth_concurrency hashes × $hash_mib MiB) | $r | ≤ $auth_login_limit | $(verdict "$r" "<=" "$auth_login_limit") |"
    r=$(ratio "${p99[storm_gw]}" "${p99[get_gw]}")
    echo "| get one p99: login storm / quiet | $r | ≤ 2.00 | $(verdict "$r" "<=" 2.0) |"
    for service in auth customers cases; do
        echo "| $service ready after start (ms) | ${ready_ms[$service]} | ≤ 100 | $(verdict "${ready_ms[$service]}" "<=" 100) |"
    done
    echo
    echo "Shares, for reading the table: the gateway keeps $(ratio "${rps[get_gw]}" "${rps[get_direct]}") of direct throughput on get one,"
    echo "$(ratio "${rps[list_gw]}" "${rps[list_direct]}") on list 20, $(ratio "${rps[jwks_gw]}" "${rps[jwks_direct]}") on jwks; direct to customers reaches $(ratio "${rps[get_direct]}" "${rps[get_floor]}") of the floor on get one."
}

machine() {
    local model commit
    model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
    commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
    [[ -n $(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null) ]] && commit+=" (with uncommitted changes)"
    echo "## Machine"
    echo
    echo "- $(nproc) cores: ${model:-unknown}; load average before the run: $load_before"
    echo "- $(date -u +%FT%TZ), commit $commit"
    echo "- FerretDB $FERRETDB_VERSION (SQLite), wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}'), $(nginx -v 2>&1 | sed 's/.*: //')"
}
. "$root/deploy/local/versions.sh"
{
    echo "# make bench: the latest run"
    echo
    echo "Written by \`make bench\` (bench/bench.sh). What each row means, where the time goes (the"
    echo "profiles) and what would close each MISS: bench/README.md."
    echo
    report
    echo
    machine
} >"$tmp/RESULTS.md"
echo
cat "$tmp/RESULTS.md"
cp "$tmp/RESULTS.md" "$results"
echo
echo "bench: written to $results"
