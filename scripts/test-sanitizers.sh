#!/usr/bin/env bash
# Builds the test programs that replay the fuzz corpora (virtqueue, mmio,
# protocol frames, vsock packets, the virtio-net device; its program also
# races set_peer(NULL) against a TX storm; guest network frames and DNS
# answers; the slirp transport's threads too) with ASan and UBSan (preset asan, into
# build-asan/) and runs them: every shipped corpus input and the seeded
# random inputs go through the harnesses' invariant checks under both
# sanitizers. Only these targets are built, so it stays a few minutes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [[ ! -f build-asan/build.ninja ]]; then
  cmake --preset asan >/dev/null
fi
tests=(voidbox_virtio_tests voidbox_protocol_tests voidbox_kvm_vsock_tests device_virtio_net_tests
  net_filter_tests net_slirp_tests)
cmake --build build-asan --parallel "$(nproc)" --target "${tests[@]}"
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for t in "${tests[@]}"; do
  echo "== $t (ASan+UBSan)"
  "build-asan/tests/$t" --gtest_brief=1
done
