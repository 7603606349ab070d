#!/usr/bin/env bash
# Measures how often the nested harness stalls: boots N fresh L1s one after
# another, each running the fixed mix tests/vm/soak/mix.sh (a KVM exec, a
# 16 MiB vsock transfer, a workflow), with no retries, and prints per run its
# outcome and time, where each stall happened, and the totals.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/.." && pwd -P)

usage() {
  cat <<EOF
Usage: $prog [options] N [-- VMTEST_OPTION...]

Boots N L1s through scripts/vmtest.sh (--retries 0), each running
tests/vm/soak/mix.sh, and reports for every run one line:
  run K/N: ok|stall|fail|timeout  SECONDS s  [where]
and for each stall the kernel's report (soft lockup, RCU stall, RIPs) and
where QEMU's monitor saw the L1 vCPUs. The last lines are the totals:
  soak: N runs, S stalled, F failed, T timed out; median M s, max X s
Options after -- go to vmtest.sh (e.g. --smp 1, --hang-after 60), and
VOIDBOX_VMTEST_KERNEL_ARGS reaches L1's command line, so one candidate
cause can be tried at a time.

Options:
  --build DIR    build tree with bin/voidbox (default: build)
  --timeout S    per-run timeout (default 600)
  --log FILE     append every run's stderr here (default: a file under
                 \${XDG_CACHE_HOME:-\$HOME/.cache}/voidbox/vmtest/, printed)
  -h, --help     this text

Exit status: 0 when no run stalled, failed or timed out; 1 otherwise; 2 on
bad usage.
EOF
}

build=$repo/build
timeout_s=600
log=""
while (($#)); do
  case $1 in
    --build) build=$(cd "$2" && pwd -P); shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --) break ;;
    -*) echo "$prog: unknown option $1 (try --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
n=${1:-}
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "$prog: N must be a positive integer (try --help)" >&2; exit 2; }
shift
[[ ${1:-} == -- ]] && shift
vmtest_opts=("$@")
[[ -x $build/bin/voidbox ]] || { echo "$prog: no $build/bin/voidbox; run scripts/build.sh" >&2; exit 2; }

cache=${XDG_CACHE_HOME:-$HOME/.cache}/voidbox
mkdir -p "$cache/vmtest"
[[ -n $log ]] || log=$cache/vmtest/soak-$(date +%Y%m%d-%H%M%S).log
: >>"$log"
echo "$prog: $n runs; per-run stderr in $log" >&2

# The mix needs the guest kernel and image; make them once, outside L1. The
# image is this soak's own, so that another build refreshing the shared
# cached image cannot change it between runs.
krel=$("$here/fetch-kernel.sh" --quiet | sed -n 's/^VERSION=//p')
mkdir -p "$build/soak"
export VOID_BOX_INITRAMFS=$build/soak/voidbox-initramfs-$krel.cpio.gz
"$here/build-guest-image.sh" --quiet --kernel-version "$krel" \
  --agent "$build/bin/voidbox-guest-agent" --output "$VOID_BOX_INITRAMFS" >/dev/null

export VOIDBOX_BUILD_DIR=$build VOIDBOX_SOURCE_DIR=$repo
stalls=0 fails=0 timeouts=0
times=()
err=$(mktemp)
trap 'rm -f -- "$err"' EXIT
for ((i = 1; i <= n; i++)); do
  start=$(date +%s%N)
  rc=0
  "$here/vmtest.sh" --timeout "$timeout_s" --retries 0 --share "$build" "${vmtest_opts[@]}" \
    -- "$repo/tests/vm/soak/mix.sh" >/dev/null 2>"$err" || rc=$?
  secs=$((($(date +%s%N) - start) / 1000000000))
  times+=("$secs")
  { echo "=== run $i/$n: status $rc, ${secs}s"; cat "$err"; } >>"$log"
  where=""
  if grep -q 'L1 stall:' "$err"; then
    outcome=stall
    stalls=$((stalls + 1))
    where=$(grep -m1 'L1 stall:' "$err" | sed 's/^[^:]*: L1 stall: //')
  elif ((rc == 0)); then
    outcome=ok
  elif ((rc == 124)); then
    outcome=timeout
    timeouts=$((timeouts + 1))
  else
    outcome=fail
    fails=$((fails + 1))
    where=$(grep -m1 -E 'soak-mix:|error' "$err" || true)
  fi
  printf 'run %d/%d: %-7s %4d s  %s\n' "$i" "$n" "$outcome" "$secs" "$where"
  if [[ $outcome != ok ]]; then
    grep -E '^\s+\| .*(soft lockup|RIP|rcu|L1 CPU#|blocked for)' "$err" | head -n 16 || true
  fi
done

sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(sed -n "$(((n + 1) / 2))p" <<<"$sorted")
max=$(tail -n 1 <<<"$sorted")
echo "soak: $n runs, $stalls stalled, $fails failed, $timeouts timed out; median ${median} s, max ${max} s"
echo "soak: options: ${vmtest_opts[*]:-(none)}; L1 kernel args: ${VOIDBOX_VMTEST_KERNEL_ARGS:-(none)}"
((stalls + fails + timeouts == 0))
