#!/usr/bin/env bash
# The last integration test (ctest runs it after repair, which runs after every other one): no
# log of the integration stack holds a secret of the run. It looks, in every file under
# $CRM_VAR/log, for
#   - anything that looks like a JWT (eyJ: base64url of '{"');
#   - every password the tests chose and every access and refresh token they obtained or forged,
#     which each test script adds to $CRM_VAR/secrets.txt (lib.sh: remember_secret);
#   - the bootstrap admin's password and every base64 line of the development signing key
#     (deploy/local/env.sh writes both under $CRM_VAR).
# With nothing to look for it fails rather than pass, and it says how much it looked for where.
. "$(dirname "$0")/lib.sh"

: "${CRM_VAR:?the stack state directory}"
log_dir=$CRM_VAR/log
secrets=$CRM_VAR/secrets.txt
key=${CRM_JWT_PRIVATE_KEY_FILE:-$CRM_VAR/keys/jwt.pem}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[[ -s $secrets ]] || fail "$secrets is missing or empty: the tests remembered no password or token, so there is nothing to look for"
mapfile -t logs < <(find "$log_dir" -type f -name '*.log' | sort)
((${#logs[@]} > 0)) || fail "no log files under $log_dir"
lines=$(cat "${logs[@]}" | wc -l)
((lines > 0)) || fail "the logs under $log_dir are empty"

sort -u "$secrets" >"$tmp/run"
[[ -r $key ]] || fail "the development signing key $key is not readable"
grep -v -- '-----' "$key" | grep -E '^[A-Za-z0-9+/=]{16,}$' >"$tmp/key" || fail "no PEM body lines in $key"
admin_password=${CRM_BOOTSTRAP_ADMIN_PASSWORD:-$(cat "$CRM_VAR/admin-password" 2>/dev/null || true)}
[[ -n $admin_password ]] || fail "no bootstrap admin password (CRM_BOOTSTRAP_ADMIN_PASSWORD or $CRM_VAR/admin-password)"
printf '%s\n' "$admin_password" >"$tmp/admin"
cat "$tmp/run" "$tmp/key" "$tmp/admin" | sort -u >"$tmp/patterns"
count=$(wc -l <"$tmp/patterns")

# The matcher itself: a planted line with one secret of each kind must be found.
for kind in run key admin; do
    printf 'planted %s\n' "$(head -n 1 "$tmp/$kind")" >"$tmp/canary.log"
    grep -qF -f "$tmp/patterns" "$tmp/canary.log" || fail "the matcher misses a planted $kind secret"
done

found=0
if grep -nE 'eyJ[A-Za-z0-9_-]{8,}' "${logs[@]}" >"$tmp/jwt"; then
    found=1
    printf 'FAIL: a JWT-like text in a log: %s\n' "$(cut -c1-240 <"$tmp/jwt" | head -n 3)" >&2
fi
if grep -nF -f "$tmp/patterns" "${logs[@]}" >"$tmp/hits"; then
    found=1
    # Show where, not what: the line is cut before the secret could be printed whole.
    printf 'FAIL: a secret of the run in a log: %s\n' "$(cut -c1-120 <"$tmp/hits" | head -n 3)" >&2
fi
((found == 0)) || fail "secrets reached the logs under $log_dir"
pass "no secret in $lines log lines of ${#logs[@]} files ($(basename -a "${logs[@]}" | tr '\n' ' ')): looked for $count secrets ($(wc -l <"$tmp/run") passwords and tokens of the run, $(wc -l <"$tmp/key") lines of the signing key, the admin password) and for anything like a JWT"
