#!/usr/bin/env bash
# Fixture setup: the test stack, on its own ports and CRM_VAR, from a clean state.
. "$(dirname "$0")/lib.sh"
"$CRM_SOURCE_DIR/deploy/local/stack.sh" down >/dev/null # leftovers of an interrupted run
rm -rf "$CRM_VAR"
"$CRM_SOURCE_DIR/deploy/local/stack.sh" up
