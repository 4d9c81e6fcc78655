#!/usr/bin/env bash
# The Postman collection (tests/postman) run by newman against the stack's gateway; any failed
# assertion fails the test. newman comes from deploy/local/deps.sh (step 5) into $CRM_CACHE.
. "$(dirname "$0")/lib.sh"
: "${CRM_GATEWAY_PORT:?the gateway port}" "${CRM_VAR:?the stack state directory}"
CRM_CACHE=${CRM_CACHE:-$HOME/.cache/crm}
postman=$(cd "$(dirname "$0")/../postman" && pwd)
newman=$CRM_CACHE/npm/node_modules/.bin/newman
[[ -x $newman ]] || fail "newman is not installed at $newman: run deploy/local/deps.sh (or make deps)"
command -v node >/dev/null || fail "node is not on PATH: newman needs Node.js 18 or newer"
if [[ -n ${CRM_BOOTSTRAP_ADMIN_PASSWORD:-} ]]; then
    admin_password=$CRM_BOOTSTRAP_ADMIN_PASSWORD
elif [[ -s $CRM_VAR/admin-password ]]; then
    admin_password=$(<"$CRM_VAR/admin-password")
else
    fail "no admin password: set CRM_BOOTSTRAP_ADMIN_PASSWORD or let deploy/local/env.sh write $CRM_VAR/admin-password"
fi
# --color off still colours the failure table: FORCE_COLOR=0 keeps ctest's log plain. The final
# environment and collection variables are exported so that the passwords and tokens the run
# chose or obtained join the run's secrets (lib.sh), which no_secrets_in_logs.sh looks for.
exported=$(mktemp -d)
trap 'rm -rf "$exported"' EXIT
status=0
FORCE_COLOR=0 "$newman" run "$postman/crm.postman_collection.json" -e "$postman/crm.postman_environment.json" \
    --env-var "baseUrl=http://127.0.0.1:$CRM_GATEWAY_PORT" \
    --env-var "adminUsername=${CRM_BOOTSTRAP_ADMIN_USERNAME:-admin}" \
    --env-var "adminPassword=$admin_password" \
    --export-environment "$exported/environment.json" --export-collection "$exported/collection.json" \
    --reporters cli --color off --timeout-request 30000 --disable-unicode || status=$?
found=0
for file in "$exported/environment.json" "$exported/collection.json"; do
    [[ -s $file ]] || fail "newman exported no $(basename "$file")"
    mapfile -t secrets < <(jq -r '(.values // .variable // [])[] | select(.key | test("(?i)token|password"))
        | .value | strings' "$file")
    remember_secret "${secrets[@]}"
    found=$((found + ${#secrets[@]}))
done
((found > 0)) || fail "the newman run left no token or password in its variables to remember"
echo "newman: $found passwords and tokens of the run remembered"
exit "$status"
