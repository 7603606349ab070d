#!/usr/bin/env bash
# Inner VM test: inside the harness, `voidbox doctor` must see a KVM that
# boots stock kernels (hardware KVM, which is what L1's kvm-amd is).
set -euo pipefail
voidbox=${1:?usage: check-doctor.sh PATH-TO-voidbox}
fail() { echo "FAIL: $*" >&2; exit 1; }

rc=0
json=$("$voidbox" doctor --output json) || rc=$?
printf '%s\n' "$json"
# Exit status 0 needs a guest kernel and initramfs too; this test is only
# about KVM, so 1 passes too, but only when the checks that failed are
# others than kvm (and doctor says which).
((rc == 0 || rc == 1)) || fail "voidbox doctor exited $rc"
python3 - "$rc" "$json" <<'PY' || fail "doctor's JSON does not show a KVM that boots stock kernels"
import json, sys
rc, doc = int(sys.argv[1]), json.loads(sys.argv[2])
kvm = doc["kvm"]
want = {"usable": True, "hardware_kvm": True, "pvm": False, "boots_stock_kernels": True}
bad = {k: kvm.get(k) for k, v in want.items() if kvm.get(k) != v}
checks = {c["name"]: c["status"] for c in doc["checks"]}
failed = sorted(n for n, s in checks.items() if s == "fail")
problems = []
if bad:
    problems.append(f"kvm object has {bad}, wants {want}")
if checks.get("kvm") != "ok":
    problems.append(f"kvm check is {checks.get('kvm')!r}, not 'ok'")
if (rc == 1) != bool(failed):
    problems.append(f"exit status {rc} but failed checks {failed}")
for p in problems:
    print(f"FAIL: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
human_rc=0
human=$("$voidbox" doctor) || human_rc=$?
printf '%s\n' "$human"
((human_rc == rc)) || fail "human doctor exited $human_rc, the JSON one $rc"
grep -qi 'hardware' <<<"$human" || fail "human output does not say hardware KVM"
echo PASS
