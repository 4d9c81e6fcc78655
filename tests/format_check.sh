#!/usr/bin/env bash
# Formatting is decided once by .clang-format; this test makes CI hold every C file to it.
set -euo pipefail
cd "$CRM_SOURCE_DIR"
mapfile -t files < <(find common gateway services deploy tests bench -name '*.[ch]' 2>/dev/null | sort)
((${#files[@]} > 0)) || { echo "FAIL: no C files found" >&2; exit 1; }
clang-format --dry-run -Werror "${files[@]}"
echo "ok: ${#files[@]} files formatted"
