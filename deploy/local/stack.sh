#!/usr/bin/env bash
# The embedded default stack: FerretDB (MongoDB on SQLite), a single-node Kafka, the three
# services and the gateway, with pid files, logs and data under $CRM_VAR.
#   stack.sh up      start what is not running, return once every part is ready
#   stack.sh down    stop every part, newest first, leaving no process behind
#   stack.sh run     up, then follow the logs in the foreground; Ctrl-C stops everything
#   stack.sh status  one line per part
#   stack.sh banner  what `run` prints once the stack is ready (URLs, a login to copy)
#   stack.sh start|stop|restart PART...   one part at a time (restart: SIGTERM, wait, start)
# With CRM_INSTANCES=N each service runs N instances: instance n is the part <service>-n
# (auth-2, ...) on the service's port + 100 * (n - 1), and the gateway balances over all of them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/versions.sh"
. "$here/env.sh"

services=(auth customers cases)
parts=(ferretdb kafka)
for service in "${services[@]}"; do
    parts+=("$service")
    for ((n = 2; n <= CRM_INSTANCES; n++)); do parts+=("$service-$n"); done
done
parts+=(gateway)
run_dir=$CRM_VAR/run
log_dir=$CRM_VAR/log
mkdir -p "$run_dir" "$log_dir" "$CRM_VAR/data"

say() { printf 'stack: %s\n' "$*"; }

# What identifies each part's process in /proc/<pid>/cmdline (a pid file can outlive its process
# and the pid be reused).
process_marker() {
    case $1 in
    ferretdb) echo "ferretdb" ;;
    kafka) echo "kafka.Kafka" ;;
    *) echo "crm-${1%-[0-9]*}" ;;
    esac
}

# The port of an executable's part: instance n of a service listens 100 * (n - 1) above the first.
part_port() {
    local service=${1%-[0-9]*} n=1 base
    [[ $1 =~ -([0-9]+)$ ]] && n=${BASH_REMATCH[1]}
    base=CRM_${service^^}_PORT
    echo $((${!base} + 100 * (n - 1)))
}

part_pid() {
    local file=$run_dir/$1.pid pid
    [[ -f $file ]] || return 1
    pid=$(<"$file")
    [[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$(process_marker "$1")" || return 1
    echo "$pid"
}

http_ready() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/readyz"; }

part_ready() {
    case $1 in
    ferretdb) "$CRM_BIN_DIR/crm-probe" mongo "mongodb://127.0.0.1:$CRM_FERRETDB_PORT/?serverSelectionTimeoutMS=500&connectTimeoutMS=500" ;;
    kafka) "$CRM_BIN_DIR/crm-probe" kafka "127.0.0.1:$CRM_KAFKA_PORT" crm.customers.v1 "$CRM_KAFKA_PARTITIONS" ;;
    *) http_ready "$(part_port "$1")" ;;
    esac
}

ready_timeout() {
    case $1 in
    kafka) echo 120 ;;
    ferretdb) echo 60 ;;
    *) echo 30 ;;
    esac
}

kafka_prepare() {
    local dir=$CRM_VAR/data/kafka config=$CRM_VAR/kafka/server.properties
    mkdir -p "$dir" "$CRM_VAR/kafka"
    cat >"$config" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CRM_KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$CRM_KAFKA_PORT,CONTROLLER://127.0.0.1:$CRM_KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$CRM_KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir
num.partitions=$CRM_KAFKA_PARTITIONS
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
PROPS
    if [[ ! -f $dir/meta.properties ]]; then
        # A cluster id is 16 random bytes in base64url; formatting happens once per data dir. One
        # that starts with '-' reads as an option to the tool (1 in 64): draw again, as Kafka does.
        local cluster_id=-
        while [[ $cluster_id == -* ]]; do
            cluster_id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
        done
        java -cp "$CRM_CACHE/kafka/$KAFKA_LIBS_KEY/libs/*" \
            -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" \
            kafka.tools.StorageTool format -t "$cluster_id" -c "$config" --ignore-formatted \
            >>"$log_dir/kafka.log" 2>&1
    fi
}

part_command() {
    case $1 in
    ferretdb)
        mkdir -p "$CRM_VAR/data/ferretdb" "$CRM_VAR/state/ferretdb"
        echo "$CRM_CACHE/ferretdb/$FERRETDB_VERSION/ferretdb" --handler=sqlite \
            "--sqlite-url=file:$CRM_VAR/data/ferretdb/" "--state-dir=$CRM_VAR/state/ferretdb" \
            "--listen-addr=127.0.0.1:$CRM_FERRETDB_PORT" --telemetry=disable --debug-addr=- \
            --log-level=error --log-format=json
        ;;
    kafka)
        echo java "-Xms128m" "-Xmx$CRM_KAFKA_HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
            "-Dlog4j2.configurationFile=$here/kafka/log4j2.properties" \
            -cp "$CRM_CACHE/kafka/$KAFKA_LIBS_KEY/libs/*" kafka.Kafka \
            "$CRM_VAR/kafka/server.properties"
        ;;
    gateway) echo "$CRM_WRAP $CRM_BIN_DIR/crm-gateway" ;;
    *)
        local service=${1%-[0-9]*}
        echo "env CRM_${service^^}_PORT=$(part_port "$1") $CRM_WRAP $CRM_BIN_DIR/crm-$service"
        ;;
    esac
}

check_installed() {
    local missing=()
    [[ -x $CRM_CACHE/ferretdb/$FERRETDB_VERSION/ferretdb ]] || missing+=(FerretDB)
    [[ -f $CRM_CACHE/kafka/$KAFKA_LIBS_KEY/complete ]] || missing+=(Kafka)
    for p in auth customers cases gateway probe; do
        [[ -x $CRM_BIN_DIR/crm-$p ]] || missing+=("crm-$p")
    done
    if ((${#missing[@]})); then
        say "not installed or built: ${missing[*]} (run 'make deps build', or 'make up')" >&2
        exit 1
    fi
}

start_part() {
    local part=$1 pid deadline log=$log_dir/$1.log
    local -a command
    if pid=$(part_pid "$part"); then
        say "$part already running (pid $pid)"
    else
        [[ $part == kafka ]] && kafka_prepare
        read -r -a command <<<"$(part_command "$part")"
        printf -- '--- %s starting %s\n' "$(date -u +%FT%TZ)" "$part" >>"$log"
        # setsid: the part has its own session, so a Ctrl-C meant for `make run` reaches the
        # parts only through `down`, in order. exec keeps the pid file's pid the real one.
        setsid bash -c 'exec "$@"' "$part" "${command[@]}" >>"$log" 2>&1 </dev/null &
        echo $! >"$run_dir/$part.pid"
        pid=$!
    fi
    deadline=$((SECONDS + $(ready_timeout "$part")))
    until part_ready "$part" >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            say "$part exited before it was ready; last lines of $log:" >&2
            tail -n 20 "$log" >&2
            return 1
        fi
        if ((SECONDS >= deadline)); then
            say "$part not ready after $(ready_timeout "$part") s; last lines of $log:" >&2
            tail -n 20 "$log" >&2
            return 1
        fi
        sleep 0.2
    done
    say "$part ready (pid $pid)"
}

stop_part() {
    local part=$1 pid deadline
    if ! pid=$(part_pid "$part"); then
        rm -f "$run_dir/$part.pid"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "$part did not stop after SIGTERM; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    rm -f "$run_dir/$part.pid"
    say "$part stopped"
}

cmd_up() {
    check_installed
    for part in "${parts[@]}"; do
        start_part "$part" || exit 1
    done
    say "all parts ready under $CRM_VAR"
}

# Instances beyond today's CRM_INSTANCES, left by an `up` with a larger one, stop first.
cmd_down() {
    local file part
    for file in "$run_dir"/*-[0-9]*.pid; do
        [[ -e $file ]] || continue
        part=$(basename "$file" .pid)
        [[ " ${parts[*]} " == *" $part "* ]] || stop_part "$part"
    done
    for ((i = ${#parts[@]} - 1; i >= 0; i--)); do
        stop_part "${parts[i]}"
    done
}

known_parts() {
    local part
    for part in "$@"; do
        [[ " ${parts[*]} " == *" $part "* ]] || { say "no part named $part (parts: ${parts[*]})" >&2; exit 2; }
    done
}

cmd_status() {
    local pid state
    for part in "${parts[@]}"; do
        if pid=$(part_pid "$part"); then
            part_ready "$part" >/dev/null 2>&1 && state=ready || state="running, not ready"
            printf '%-12s %-20s pid %s\n' "$part" "$state" "$pid"
        else
            printf '%-12s %s\n' "$part" "stopped"
        fi
    done
}

# What `make run` prints once everything is ready: where things are, and a login to copy.
banner() {
    local base=http://127.0.0.1:$CRM_GATEWAY_PORT password_source password_arg
    if [[ -n $crm_admin_password_file ]]; then
        password_source="in $crm_admin_password_file"
        password_arg="\"\$(cat $(printf '%q' "$crm_admin_password_file"))\""
    else
        password_source="from CRM_BOOTSTRAP_ADMIN_PASSWORD"
        password_arg='"$CRM_BOOTSTRAP_ADMIN_PASSWORD"'
    fi
    cat <<TEXT

  CRM is running.
    API       $base/api
    docs      $base/docs  (the OpenAPI document: $base/api/openapi.json)
    health    $base/readyz
    metrics   $base/metrics
    admin     $CRM_BOOTSTRAP_ADMIN_USERNAME (password $password_source)
    logs      $log_dir

  Log in and make a first call (copy and paste):
    TOKEN=\$(jq -n --arg u $(printf '%q' "$CRM_BOOTSTRAP_ADMIN_USERNAME") --arg p $password_arg '{username: \$u, password: \$p}' | curl -s $base/api/auth/login -H 'Content-Type: application/json' -d @- | jq -r .access_token)
    curl -s '$base/api/customers?limit=5' -H "Authorization: Bearer \$TOKEN"

  Sample data: 'make seed' in another terminal. Ctrl-C stops everything.

TEXT
}

cmd_run() {
    local follower=
    stopping() {
        trap - INT TERM
        [[ -n $follower ]] && kill $follower 2>/dev/null
        echo
        cmd_down
        exit 0
    }
    trap stopping INT TERM
    cmd_up
    banner
    # Interleaved logs, each line prefixed with its part.
    for part in "${parts[@]}"; do
        tail -n 0 -F "$log_dir/$part.log" 2>/dev/null | sed -u "s/^/$(printf '%-9s' "$part") | /" &
    done
    follower=$(jobs -p | tr '\n' ' ')
    wait
}

command=${1:-}
shift || true
case $command in
up) cmd_up ;;
down) cmd_down ;;
run) cmd_run ;;
status) cmd_status ;;
banner) banner ;;
start)
    known_parts "$@"
    check_installed
    for part in "$@"; do start_part "$part" || exit 1; done
    ;;
stop)
    known_parts "$@"
    for part in "$@"; do stop_part "$part"; done
    ;;
restart)
    known_parts "$@"
    check_installed
    for part in "$@"; do
        stop_part "$part"
        start_part "$part" || exit 1
    done
    ;;
*)
    echo "usage: $0 up|down|run|status|banner, or start|stop|restart PART..." >&2
    exit 2
    ;;
esac
