#!/usr/bin/env bash
# `crm-probe healthz <port setting>`, the containers' health check (deploy/docker/Dockerfile and
# docker-compose.yml), answers 0 exactly when the executable answers GET /healthz on the port
# that setting gives it, and refuses a setting that is not a port. No stack: crm-gateway starts
# without its upstreams (degraded) on a port of this build tree's own.
. "$(dirname "$0")/../integration/lib.sh"
: "${CRM_BIN_DIR:?}" "${CRM_PROBE_TEST_PORT:?}"
tmp=$(mktemp -d)
gateway_pid=
cleanup() {
    [[ -z $gateway_pid ]] || kill "$gateway_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
probe() { "$CRM_BIN_DIR/crm-probe" healthz "$@" 2>>"$tmp/probe.err"; }

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/jwt.pem" 2>/dev/null
openssl pkey -in "$tmp/jwt.pem" -pubout -out "$tmp/jwt.pub"
export CRM_GATEWAY_PORT=$CRM_PROBE_TEST_PORT CRM_BIND=127.0.0.1 CRM_JWT_PUBLIC_KEY_FILES=$tmp/jwt.pub

status=0
probe CRM_GATEWAY_PORT || status=$?
((status == 1)) || fail "nothing listens on $CRM_GATEWAY_PORT, yet the probe answered $status"
pass "nothing on port $CRM_GATEWAY_PORT: exit 1"

"$CRM_BIN_DIR/crm-gateway" 2>"$tmp/gateway.log" &
gateway_pid=$!
wait_for 20 probe CRM_GATEWAY_PORT || fail "the probe never saw the gateway's /healthz: $(tail -3 "$tmp/gateway.log" "$tmp/probe.err")"
pass "crm-gateway on CRM_GATEWAY_PORT=$CRM_GATEWAY_PORT: exit 0"

CRM_BIND=0.0.0.0 probe CRM_GATEWAY_PORT || fail "CRM_BIND=0.0.0.0 must be probed on the loopback address"
pass "CRM_BIND=0.0.0.0: probed on 127.0.0.1, exit 0"

for setting in CRM_LOG_LEVEL CRM_NO_SUCH_PORT; do
    status=0
    probe "$setting" || status=$?
    ((status == 2)) || fail "crm-probe healthz $setting answered $status, not 2"
done
pass "not a port setting (CRM_LOG_LEVEL, CRM_NO_SUCH_PORT): exit 2"

kill "$gateway_pid"
wait "$gateway_pid" || true
gateway_pid=
status=0
probe CRM_GATEWAY_PORT || status=$?
((status == 1)) || fail "the gateway stopped, yet the probe answered $status"
pass "gateway stopped: exit 1"
