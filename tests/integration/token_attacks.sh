#!/usr/bin/env bash
# Forged, stale and misused bearer tokens, each sent to every process that checks tokens: the
# gateway (two routes) and, straight at their ports, the three services, which verify tokens
# again (DESIGN.md: defence in depth). Every one must answer 401 with an RFC 9457 problem and
# WWW-Authenticate: Bearer; a control token forged the same way but right in every claim must
# answer 200 everywhere, so a 401 cannot come from a mistake in the forging.
#
# Tokens are forged with openssl (jwt.sh): with the stack's own signing key ($CRM_VAR/keys/jwt.pem,
# made by deploy/local/env.sh) for tokens that are well signed but wrong, and with an attacker's
# key made here. auth_api.sh proves the leeway boundaries (a token 5 s past exp still passes) at
# the gateway; this script proves the refusals at every process.
#
# Needs CRM_GATEWAY_PORT, CRM_AUTH_PORT, CRM_CUSTOMERS_PORT, CRM_CASES_PORT and CRM_VAR; curl, jq
# and openssl.
# shellcheck disable=SC2016 # the claims are edited by jq programs: $now and $kid are theirs
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/jwt.sh"

: "${CRM_GATEWAY_PORT:?}" "${CRM_AUTH_PORT:?}" "${CRM_CUSTOMERS_PORT:?}" "${CRM_CASES_PORT:?}"
: "${CRM_VAR:?the stack state directory}"
admin_name=${CRM_BOOTSTRAP_ADMIN_USERNAME:-admin}
admin_password=${CRM_BOOTSTRAP_ADMIN_PASSWORD:-$(<"$CRM_VAR/admin-password")}
stack_key=${CRM_JWT_PRIVATE_KEY_FILE:-$CRM_VAR/keys/jwt.pem}
stack_pub=${CRM_JWT_PUBLIC_KEY_FILES:-$CRM_VAR/keys/jwt.pub}
stack_pub=${stack_pub%%,*}
[[ -r $stack_key && -r $stack_pub ]] || fail "the stack's keys are not readable at $stack_key and $stack_pub"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

targets=("$CRM_GATEWAY_PORT /api/auth/me" "$CRM_GATEWAY_PORT /api/cases" "$CRM_AUTH_PORT /api/auth/me"
    "$CRM_CUSTOMERS_PORT /api/customers" "$CRM_CASES_PORT /api/cases")
target_name() {
    case ${1%% *} in
    "$CRM_GATEWAY_PORT") echo "gateway ${1#* }" ;;
    *) echo "service ${1#* }" ;;
    esac
}

# send AUTHORIZATION: a GET to every target with that Authorization header (none when empty), in
# one curl process (lib.sh's batch); sets ANSWERS in the order of targets, bodies in $tmp/batch.N.
send() {
    local target
    for target in "${targets[@]}"; do
        if [[ -n $1 ]]; then
            batch_add "${target%% *}" GET "${target#* }" -H "Authorization: $1"
        else
            batch_add "${target%% *}" GET "${target#* }"
        fi
    done
    batch_run
}

attacks=0
# refused WHAT AUTHORIZATION: 401 problems with the Bearer challenge from every target.
refused() {
    local what=$1 i status type challenge body
    send "$2"
    for i in "${!targets[@]}"; do
        IFS=$'\t' read -r status type challenge <<<"${ANSWERS[i]}"
        body=$(<"$tmp/batch.$i")
        [[ $status == 401 ]] || fail "$what: $(target_name "${targets[i]}") answered $status, not 401: $(head -c 300 <<<"$body")"
        [[ $type == application/problem+json* ]] || fail "$what: $(target_name "${targets[i]}"): Content-Type '$type'"
        # The services write compact JSON; no jq here, the script sends hundreds of requests.
        [[ $body == *'"type":"/problems/unauthorized"'* && $body == *'"status":401'* &&
            $body == *'"detail":"'* && $body == *'"request_id":"'* ]] ||
            fail "$what: $(target_name "${targets[i]}"): not a 401 problem: $body"
        [[ $challenge == Bearer* ]] || fail "$what: $(target_name "${targets[i]}"): WWW-Authenticate '$challenge'"
    done
    attacks=$((attacks + 1))
}

# ---- tokens of the run ---------------------------------------------------------------------------

wait_for 30 curl -sf "http://127.0.0.1:$CRM_GATEWAY_PORT/readyz" || fail "the gateway is not ready"
pair=$(curl -sS --max-time 30 -H 'Content-Type: application/json' "http://127.0.0.1:$CRM_GATEWAY_PORT/api/auth/login" \
    --data-binary "$(jq -nc --arg u "$admin_name" --arg p "$admin_password" '{username: $u, password: $p}')")
remember_json "$pair"
admin_token=$(jq -r .access_token <<<"$pair") admin_refresh=$(jq -r .refresh_token <<<"$pair")
[[ $admin_token == eyJ* ]] || fail "cannot log in as $admin_name: $pair"
header=$(jwt_header "$admin_token") claims=$(jwt_claims "$admin_token")
real_kid=$(jq -r .kid <<<"$header")
[[ $(kid_of "$stack_key") == "$real_kid" ]] ||
    fail "the stack's key $stack_key is not the one that signs tokens (kid $real_kid)"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/attacker.pem" 2>/dev/null
openssl pkey -in "$tmp/attacker.pem" -pubout -out "$tmp/attacker.pub"
attacker_kid=$(kid_of "$tmp/attacker.pem")
now=$(date +%s)

# signed HEADER_JQ CLAIMS_JQ [KEY]: a token whose header and claims are the admin token's, edited
# by the jq programs (with $now and $kid), signed RS256 with KEY (the stack's key by default).
signed() {
    local h=$header c=$claims
    [[ $1 == . ]] || h=$(jq -c --arg kid "$attacker_kid" "$1" <<<"$header")
    [[ $2 == . ]] || c=$(jq -c --argjson now "$now" "$2" <<<"$claims")
    jwt "${3:-$stack_key}" RS256 "$h" "$c"
}
b64() { printf '%s' "$1" | b64url; }

# ---- the control ------------------------------------------------------------------------------------

control=$(signed . '.jti = "control-\($now)" | .iat = $now | .exp = $now + 300')
for token in "$control" "$admin_token"; do
    send "Bearer $token"
    for i in "${!targets[@]}"; do
        [[ ${ANSWERS[i]} == 200* ]] || fail "control: $(target_name "${targets[i]}") answered ${ANSWERS[i]%%$'\t'*} to $([[ $token == "$control" ]] && echo "a token forged with the stack's key and right claims" || echo "the admin's own token"): $(head -c 300 "$tmp/batch.$i")"
    done
done
pass "control: a token forged with the stack's key and right claims, and a real one, answer 200 at ${#targets[@]} targets"

# ---- the attacks ------------------------------------------------------------------------------------

# Missing or garbled headers.
refused "no Authorization header" ""
refused "an empty bearer" "Bearer "
refused "the scheme alone" "Bearer"
refused "a garbled bearer" "Bearer not-a-token-at-all"
refused "three empty segments" "Bearer .."
refused "Basic credentials" "Basic $(printf '%s:%s' "$admin_name" "$admin_password" | openssl base64 -A)"
refused "a token without its scheme" "$admin_token"
refused "a token and more" "Bearer $admin_token $admin_token"
refused "a token in quotes" "Bearer \"$admin_token\""
refused "a refresh token used as an access token" "Bearer $admin_refresh"

# Algorithms (libjwt's traps, NOTES.md): none, HS256 keyed with our public PEM, RS512.
none_header=$(jq -c '.alg = "none"' <<<"$header")
refused "alg none, no signature" "Bearer $(jwt "" none "$none_header" "$claims")"
refused "alg none, the real signature kept" "Bearer $(b64 "$none_header").$(cut -d. -f2-3 <<<"$admin_token")"
refused "alg NONE" "Bearer $(jwt "" none "$(jq -c '.alg = "NONE"' <<<"$header")" "$claims")"
refused "HS256 keyed with the stack's public key PEM" \
    "Bearer $(jwt "$stack_pub" HS256 "$(jq -c '.alg = "HS256"' <<<"$header")" "$claims")"
head -c -1 "$stack_pub" >"$tmp/pub-no-newline.pem"
refused "HS256 keyed with the PEM without its final newline" \
    "Bearer $(jwt "$tmp/pub-no-newline.pem" HS256 "$(jq -c '.alg = "HS256"' <<<"$header")" "$claims")"
refused "RS512 signed with the stack's key" "Bearer $(jwt "$stack_key" RS512 "$(jq -c '.alg = "RS512"' <<<"$header")" "$claims")"
refused "no alg" "Bearer $(signed 'del(.alg)' .)"

# Time, issuer, audience: well signed with the stack's key, wrong in one claim.
refused "expired 120 s ago" "Bearer $(signed . '.iat = $now - 1000 | .exp = $now - 120')"
refused "no exp" "Bearer $(signed . 'del(.exp)')"
refused "exp as a string" "Bearer $(signed . '.exp = "\($now + 300)"')"
refused "nbf 120 s ahead" "Bearer $(signed . '.nbf = $now + 120')"
refused "iat 120 s ahead" "Bearer $(signed . '.iat = $now + 120 | .exp = $now + 900')"
refused "wrong issuer" "Bearer $(signed . '.iss = "crm-auth-evil"')"
refused "no issuer" "Bearer $(signed . 'del(.iss)')"
refused "wrong audience" "Bearer $(signed . '.aud = "other-api"')"
refused "wrong audience in a list" "Bearer $(signed . '.aud = ["other-api", "crm-api-x"]')"
refused "no audience" "Bearer $(signed . 'del(.aud)')"
refused "an unknown role" "Bearer $(signed . '.role = "superadmin"')"
dup_claims=$(jq -c '.role = "viewer"' <<<"$claims" | sed 's/}$/,"role":"admin"}/')
refused "two role claims (viewer, then admin)" \
    "Bearer $(jwt "$stack_key" RS256 "$header" "$dup_claims")"

# Tampering and foreign keys.
agent_like=$(jq -c '.role = "agent"' <<<"$claims")
agent_token=$(jwt "$stack_key" RS256 "$header" "$agent_like")
refused "an agent's payload changed to admin, signature kept" \
    "Bearer $(cut -d. -f1 <<<"$agent_token").$(b64 "$claims").$(cut -d. -f3 <<<"$agent_token")"
signature=$(cut -d. -f3 <<<"$admin_token")
flipped=${signature:0:10}$([[ ${signature:10:1} == A ]] && echo B || echo A)${signature:11}
refused "one character of the signature changed" "Bearer $(cut -d. -f1-2 <<<"$admin_token").$flipped"
refused "the signature cut short" "Bearer $(cut -d. -f1-2 <<<"$admin_token").${signature:0:100}"
refused "an empty signature" "Bearer $(cut -d. -f1-2 <<<"$admin_token")."
refused "the attacker's key under its own kid" "Bearer $(signed '.kid = $kid' . "$tmp/attacker.pem")"
refused "the attacker's key under the stack's kid" "Bearer $(signed . . "$tmp/attacker.pem")"
refused "the stack's key under an unknown kid" "Bearer $(signed '.kid = $kid' .)"
refused "no kid" "Bearer $(signed 'del(.kid)' .)"
refused "a kid that is a path" "Bearer $(signed '.kid = "../../../../dev/null"' .)"
jwk=$(jq -nc --arg kid "$attacker_kid" --arg n "$(openssl rsa -pubin -in "$tmp/attacker.pub" -noout -modulus | cut -d= -f2)" \
    '{kty: "RSA", kid: $kid, e: "AQAB", n: $n}')
refused "the attacker's key embedded as jwk (CVE-2018-0114)" \
    "Bearer $(signed ".kid = \$kid | .jwk = $jwk" . "$tmp/attacker.pem")"
refused "the attacker's key set named by jku" \
    "Bearer $(signed '.kid = $kid | .jku = "http://127.0.0.1:9/jwks.json"' . "$tmp/attacker.pem")"
refused "a crit header" "Bearer $(signed '.crit = ["exp"]' .)"
refused "typ JWE" "Bearer $(signed '.typ = "JWE"' .)"

pass "$attacks token attacks refused with a 401 problem and WWW-Authenticate: Bearer by the gateway (2 routes) and each service at its own port: $((attacks * ${#targets[@]})) requests"
