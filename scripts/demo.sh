#!/usr/bin/env bash
# Sets everything up on a fresh Debian machine and runs one spec on a real VM:
# packages, build, the stock Debian guest kernel, the guest image, then
# `voidbox run --backend kvm`. Where this host's /dev/kvm cannot boot stock
# kernels (PVM), the run happens inside the nested harness scripts/vmtest.sh.
#
# usage: scripts/demo.sh [SPEC]   (default: specs/examples/workflow-text.yaml)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

case ${1:-} in
  -h | --help)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac
spec=${1:-specs/examples/workflow-text.yaml}
[[ -f $spec ]] || { echo "demo.sh: no such spec: $spec" >&2; exit 2; }

step() { printf '\n==> %s\n' "$*" >&2; }

step "Installing packages"
bash scripts/setup.sh
step "Building"
bash scripts/build.sh
step "Fetching the guest kernel"
bash scripts/fetch-kernel.sh >/dev/null
step "Building the guest image"
bash scripts/build-guest-image.sh >/dev/null

run=(build/bin/voidbox run --backend kvm --file "$spec")
if build/bin/voidbox doctor >/dev/null 2>&1; then
  step "Running $spec on KVM"
  exec "${run[@]}"
fi
step "This host's KVM cannot boot stock kernels (see build/bin/voidbox doctor); running $spec inside scripts/vmtest.sh"
# Should the emulated L1 itself stall (it reports "L1 stall"), one fresh L1
# runs the spec again; a spec that fails is never rerun.
exec bash scripts/vmtest.sh --retries 1 -- "${run[@]}"
