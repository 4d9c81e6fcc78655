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

# ---- secrets of the run ------------------------------------------------------------------------
# Every password a test chooses and every token it obtains goes to $CRM_VAR/secrets.txt, one a
# line, so that no_secrets_in_logs.sh (the last integration test) can prove that none of them
# reached a log. Values shorter than 8 characters (never a valid password or token, and likely to
# match by chance) or longer than 4 KiB (bodies built to be too large) are not kept.

# remember_secret VALUE...: adds each value to the run's secrets.
remember_secret() {
    local value
    for value in "$@"; do
        ((${#value} >= 8 && ${#value} <= 4096)) || continue
        [[ $value != *$'\n'* ]] || continue
        printf '%s\n' "$value" >>"${CRM_VAR:?}/secrets.txt"
    done
}

# remember_json TEXT...: the secrets a JSON request or response body holds: every string member
# named password, refresh_token or access_token, at any depth. Matched in bash (tests call it for
# every request), decoded by jq only when a value holds an escape. Texts over 64 KiB are skipped:
# no token pair or credential body is that large, but the OpenAPI document is (its examples are
# no secrets) and bash's matching is quadratic on it.
remember_json() {
    local text key rest value
    for text in "$@"; do
        ((${#text} <= 65536)) || continue
        for key in password refresh_token access_token; do
            rest=$text
            while [[ $rest == *"\"$key\":"* ]]; do
                rest=${rest#*"\"$key\":"}
                [[ ${rest:0:4200} =~ ^[[:space:]]*\"(([^\"\\]|\\.)*)\" ]] || continue
                value=${BASH_REMATCH[1]}
                [[ $value != *\\* ]] || value=$(jq -r . <<<"\"$value\"" 2>/dev/null) || value=
                remember_secret "$value"
            done
        done
    done
}

# remember_exchange RESPONSE_BODY CURL_ARGS...: what a scripted request sent and got back: the
# curl arguments that are JSON bodies (--data-binary TEXT, -d TEXT) or bearer tokens (-H
# "Authorization: Bearer TOKEN", forged ones included), and the response body.
remember_exchange() {
    local response=$1 arg
    shift
    for arg in "$@"; do
        case $arg in
        \{*) remember_json "$arg" ;;
        [Aa]uthorization:\ [Bb]earer\ *) remember_secret "${arg#*[Bb]earer }" ;;
        esac
    done
    remember_json "$response"
}

# ---- one request, for the scripts that talk to several processes --------------------------------

# http PORT METHOD PATH [curl options...]: one request to 127.0.0.1:PORT, the target sent as
# written (--path-as-is, --globoff). Sets STATUS, TYPE (the Content-Type), BODY and LAST, and remembers the
# secrets of the exchange. Needs $tmp, a directory of the calling script's own.
http() {
    local port=$1 method=$2 path=$3
    shift 3
    LAST="$method ${path:0:120} at port $port"
    : >"${tmp:?}/http.body"
    IFS=$'\t' read -r STATUS TYPE < <(curl -sS --max-time 30 --path-as-is --globoff -o "$tmp/http.body" \
        -w '%{http_code}\t%{content_type}\n' -X "$method" "$@" "http://127.0.0.1:$port$path" || echo 000)
    BODY=$(<"$tmp/http.body")
    remember_exchange "$BODY" "$@"
}

# expect_status STATUS WHAT: the last answer had that status.
expect_status() {
    [[ $STATUS == "$1" ]] || fail "$2: $LAST answered $STATUS, expected $1: $(head -c 400 <<<"$BODY")"
}

# expect_problem_status STATUS SLUG WHAT: the last answer is an RFC 9457 problem of that status
# and type. The services write compact JSON, so plain matching is enough (and needs no process).
expect_problem_status() {
    expect_status "$1" "$3"
    [[ $TYPE == application/problem+json* && $BODY == *"\"type\":\"/problems/$2\""* &&
        $BODY == *"\"status\":$1"* && $BODY == *'"request_id":"'* ]] ||
        fail "$3: $LAST answered $STATUS ($TYPE) but not a /problems/$2 problem: $(head -c 400 <<<"$BODY")"
}

# ---- many requests in one curl process ----------------------------------------------------------
# Starting curl costs more than a request to a local service, and the hostile-input tests send
# hundreds: batch_add queues requests and batch_run sends them in order from one curl (--next
# between them, connections kept alive). Needs $tmp like http.

BATCH=()
BATCH_COUNT=0

# batch_add PORT METHOD PATH [curl options...]: queues one request (the target as written).
batch_add() {
    local port=$1 method=$2 path=$3
    shift 3
    ((BATCH_COUNT == 0)) || BATCH+=(--next)
    BATCH+=(-sS --max-time 30 --path-as-is --globoff -o "${tmp:?}/batch.$BATCH_COUNT" -X "$method"
        -w '%{http_code}\t%{content_type}\t%header{www-authenticate}\n' "$@" "http://127.0.0.1:$port$path")
    BATCH_COUNT=$((BATCH_COUNT + 1))
}

# batch_run: sends the queued requests. Sets ANSWERS, one "STATUS<tab>CONTENT-TYPE<tab>
# WWW-AUTHENTICATE" line per request in order (STATUS 000 when none came); the body of request
# N (from 0) is in $tmp/batch.N. The secrets in the requests and answers are remembered.
batch_run() {
    local n
    rm -f "$tmp"/batch.*
    mapfile -t ANSWERS < <(curl "${BATCH[@]}" || true)
    ((${#ANSWERS[@]} == BATCH_COUNT)) || fail "$BATCH_COUNT requests sent, ${#ANSWERS[@]} answers"
    remember_exchange "" "${BATCH[@]}"
    for ((n = 0; n < BATCH_COUNT; n++)); do
        [[ ! -s $tmp/batch.$n ]] || remember_json "$(<"$tmp/batch.$n")"
    done
    BATCH=() BATCH_COUNT=0
}
