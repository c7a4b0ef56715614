#!/usr/bin/env bash
# Builds, type-checks and tests every package, then prints the summed line "N passed, N failed".
# Kernel tests run on the software Vulkan driver (Mesa lavapipe) set up by ../shared/gpu/lavapipe.sh.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
lavapipe="${VPTQ_SHARED:-$root/../shared}/gpu/lavapipe.sh"
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$lavapipe" ]; then
  eval "$(bash "$lavapipe")" || echo "test.sh: software Vulkan setup failed; GPU tests will skip (or fail under CI)" >&2
fi
rm -f packages/*/test-results.json tools/*/test-results.json
pnpm exec turbo run build typecheck test --continue --concurrency=2 --output-logs=errors-only "$@"
status=$?
node scripts/sum-tests.mjs || status=1
exit $status
