#!/usr/bin/env bash
# Sets up dependencies, builds, and runs the whole test suite: unit tests,
# process-backend runtime tests, and the real-VM tests (label `vm`, through
# scripts/vmtest.sh on machines whose KVM cannot boot stock kernels).
# Extra arguments go to ctest, e.g. `scripts/test.sh -L unit`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bash scripts/build.sh
bash scripts/test-sanitizers.sh  # fuzz corpus replays under ASan+UBSan (build-asan/)
ctest --test-dir build --output-on-failure --timeout 1800 "$@"
