#!/usr/bin/env bash
# Sets up dependencies, builds, and runs the whole test suite: unit tests,
# process-backend runtime tests, the real-VM tests (label `vm`, through
# scripts/vmtest.sh on machines whose KVM cannot boot stock kernels), and the
# fuzz corpus replays under ASan+UBSan (build-asan/).
# Extra arguments go to ctest, e.g. `scripts/test.sh -L unit`.
# At the end it prints the suite's time in all and per label.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
start=$(date +%s)
bash scripts/setup.sh
bash scripts/build.sh
built=$(date +%s)
rc=0
bash scripts/test-sanitizers.sh || rc=$?
sanitized=$(date +%s)
junit=$root/build/ctest-junit.xml
rm -f "$junit"
# Two at a time on two cores: a VM test's single-vCPU L1 takes one.
ctest --test-dir build --output-on-failure --timeout 1800 -j "$(nproc)" \
  --output-junit "$junit" "$@" || rc=$?
if [[ -f $junit ]]; then
  ctest --test-dir build --show-only=json-v1 "$@" >"$root/build/ctest-tests.json"
  python3 scripts/ctest-times.py "$junit" "$root/build/ctest-tests.json" ||
    echo "test.sh: could not sum up the test times" >&2
fi
end=$(date +%s)
echo "test.sh: setup and build $((built - start)) s, sanitizer replays $((sanitized - built)) s," \
  "ctest $((end - sanitized)) s, total $((end - start)) s"
exit "$rc"
