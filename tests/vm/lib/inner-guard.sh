#!/usr/bin/env bash
# Runs an inner VM test only inside scripts/vmtest.sh (nested L1 or direct on
# hardware KVM), which sets VOIDBOX_VMTEST_INSIDE. Started any other way it
# reports "skipped" (77, the tests' SKIP_RETURN_CODE): on a PVM host a stock
# guest kernel would hang until the timeout, and on a hardware-KVM host the
# vm-suite test already runs it, so running it twice would only cost time.
set -euo pipefail
if [[ -z ${VOIDBOX_VMTEST_INSIDE:-} ]]; then
  echo "skipped: VM tests run inside scripts/vmtest.sh; use ctest -L '^vm\$' (the vm-suite test)," \
    "or scripts/vmtest.sh -- ctest -L '^vm-inner\$' [-R NAME]" >&2
  exit 77
fi
(($#)) || { echo "inner-guard.sh: no command" >&2; exit 2; }
exec "$@"
