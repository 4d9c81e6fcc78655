# Helpers for the integration scripts: failing loudly, polling instead of sleeping.
# shellcheck shell=bash
set -euo pipefail
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
pass() { printf 'ok: %s\n' "$*"; }

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds or time runs out.
wait_for() {
    local limit=$1 deadline
    shift
    deadline=$(($(date +%s%N) + limit * 1000000000))
    until "$@" >/dev/null 2>&1; do
        (($(date +%s%N) < deadline)) || return 1
        sleep 0.1
    done
}

# http_status URL: prints the status code of a GET.
http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1"; }
