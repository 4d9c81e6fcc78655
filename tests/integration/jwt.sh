# JWTs in bash with openssl, for the scripts that forge tokens (auth_api.sh, token_attacks.sh):
# base64url both ways, the parts of a token, signing in RS256/RS512/HS256/none, and the RFC 7638
# thumbprint that our tokens carry as kid.
# shellcheck shell=bash

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
b64url_decode() {
    local s=${1//-/+}
    s=${s//_//}
    while ((${#s} % 4)); do s+='='; done
    printf '%s' "$s" | openssl base64 -d -A
}
hex_b64url() {
    local h=$1
    ((${#h} % 2 == 0)) || h=0$h
    printf '%b' "$(sed 's/../\\x&/g' <<<"$h")" | b64url
}
jwt_header() { b64url_decode "$(cut -d. -f1 <<<"$1")"; }
jwt_claims() { b64url_decode "$(cut -d. -f2 <<<"$1")"; }

# jwt KEY ALG HEADER_JSON CLAIMS_JSON: a compact JWT. ALG: RS256 or RS512 (KEY a private PEM),
# HS256 (KEY a file whose bytes are the HMAC secret), none (no signature).
jwt() {
    local key=$1 alg=$2 input signature=
    input=$(printf '%s' "$3" | b64url).$(printf '%s' "$4" | b64url)
    case $alg in
    RS256) signature=$(printf '%s' "$input" | openssl dgst -sha256 -sign "$key" -binary | b64url) ;;
    RS512) signature=$(printf '%s' "$input" | openssl dgst -sha512 -sign "$key" -binary | b64url) ;;
    HS256)
        signature=$(printf '%s' "$input" |
            openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(od -An -v -tx1 "$key" | tr -d ' \n')" -binary | b64url)
        ;;
    none) ;;
    esac
    printf '%s.%s' "$input" "$signature"
}

# kid_of PRIVATE_PEM: the RFC 7638 thumbprint of an RSA key.
kid_of() {
    local n e
    n=$(openssl rsa -in "$1" -noout -modulus 2>/dev/null | cut -d= -f2)
    e=$(openssl rsa -in "$1" -noout -text 2>/dev/null | sed -n 's/^publicExponent: [0-9]* (0x\([0-9a-fA-F]*\))$/\1/p')
    printf '{"e":"%s","kty":"RSA","n":"%s"}' "$(hex_b64url "$e")" "$(hex_b64url "$n")" |
        openssl dgst -sha256 -binary | b64url
}
