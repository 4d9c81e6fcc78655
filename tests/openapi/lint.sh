#!/usr/bin/env bash
# The OpenAPI document's lint: Redocly CLI (pinned, from deploy/local/deps.sh into $CRM_CACHE)
# with redocly.yaml (the recommended rules; an example that does not match its schema is an
# error) must find no error and no warning beyond those .redocly.lint-ignore.yaml names, then
# examples_check.py holds every operation to its summary and examples. A missing linter fails.
set -euo pipefail
: "${CRM_SOURCE_DIR:?the source tree}"
CRM_CACHE=${CRM_CACHE:-$HOME/.cache/crm}
redocly=$CRM_CACHE/npm/node_modules/.bin/redocly
fail() { echo "FAIL: $*" >&2; exit 1; }
[[ -x $redocly ]] || fail "Redocly CLI is not installed at $redocly: run deploy/local/deps.sh (or make deps)"
command -v node >/dev/null || fail "node is not on PATH: Redocly CLI needs Node.js 20.19 or newer"
command -v jq >/dev/null || fail "jq is missing: run deploy/local/deps.sh"
cd "$CRM_SOURCE_DIR"
report=$(mktemp)
trap 'rm -f "$report"' EXIT
# No telemetry, no update check: the machine may have no internet, and the run stays quiet.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
"$redocly" lint api/openapi.yaml --config redocly.yaml --format=json >"$report" 2>/dev/null || true
jq -e '.totals.errors | numbers' "$report" >/dev/null || fail "redocly lint gave no report: $(head -c 2000 "$report")"
read -r version errors warnings ignored < <(jq -r '[.version, .totals.errors, .totals.warnings, .totals.ignored] | @tsv' "$report")
if ((errors + warnings > 0)); then
    "$redocly" lint api/openapi.yaml --config redocly.yaml --format=stylish >&2 || true
    fail "redocly lint $version: $errors errors, $warnings warnings (fix them, or justify one in .redocly.lint-ignore.yaml and README)"
fi
echo "ok: redocly lint $version: 0 errors, 0 warnings, $ignored ignored (.redocly.lint-ignore.yaml)"
/usr/bin/python3 "$CRM_SOURCE_DIR/tests/openapi/examples_check.py" api/openapi.yaml common/src/problem.c
