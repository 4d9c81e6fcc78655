#!/usr/bin/env bash
# Every CRM_* variable the code or the stack scripts read is listed in .env.example and in the
# README's settings table, and nothing is listed there that nobody reads.
set -euo pipefail
cd "$CRM_SOURCE_DIR"
read_by_code=$( (grep -ohE '"CRM_[A-Z0-9_]+"' common/src/config.c | tr -d '"'
    grep -ohE '\bCRM_[A-Z0-9_]+\b' deploy/local/env.sh) | grep -vE '^CRM_(BIN_DIR|SOURCE_DIR)$' | sort -u)
in_example=$(grep -oE '^CRM_[A-Z0-9_]+' .env.example | sort -u)
in_readme=$(grep -oE '^\| `CRM_[A-Z0-9_]+`' README.md | grep -oE 'CRM_[A-Z0-9_]+' | sort -u)
status=0
for list in in_example in_readme; do
    missing=$(comm -23 <(echo "$read_by_code") <(echo "${!list}"))
    extra=$(comm -13 <(echo "$read_by_code") <(echo "${!list}"))
    [[ -z $missing ]] || { echo "FAIL: $list lacks: $missing" | tr '\n' ' '; echo; status=1; }
    [[ -z $extra ]] || { echo "FAIL: $list lists unread: $extra" | tr '\n' ' '; echo; status=1; }
done
((status == 0)) && echo "ok: $(wc -l <<<"$read_by_code") settings documented in .env.example and README.md"
exit $status
