#!/usr/bin/env bash
# kind: agent end to end on KVM. Inside the VM test harness (L1), as root:
#   - the Messages API mock (tools/mock-anthropic) on L1's loopback, scripted
#     with a Bash tool_use turn and a final text turn;
#   - `voidbox run` of a kind: agent spec with llm.provider claude, base_url
#     at the mock and a made-up ANTHROPIC_API_KEY, so the credential proxy is
#     on (its default for a key-based provider);
#   - the real claude-code in the guest, from the claude agent disk.
# The tool call writes a marker into an rw mount, and scans the guest for
# the key: every process's environment and command line, and every file
# outside /proc, /sys, /dev and the read-only agent disk. The key is split in
# two halves in the command, so the scan itself never holds it whole.
# Checks: the run succeeded with the mock's final text, 2 turns and 1 Bash
# call; the marker is on the host; the mock saw the real key on every
# request; the scan found no trace of the key, while it did find a canary
# the runtime put into the agent's environment as it would the key (so it
# can find what it looks for). The same two checks run over the dump of the
# whole guest RAM that the VMM writes at the end ($VOIDBOX_MEMORY_DUMP_DIR).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${VOIDBOX_BUILD_DIR:?}
src=${VOIDBOX_SOURCE_DIR:?}
vb=$build/bin/voidbox

state_root=$(mktemp -d /tmp/agent-e2e.XXXXXX)
mock_pid=
cleanup() {
  [[ -z $mock_pid ]] || kill "$mock_pid" 2>/dev/null || true
  rm -rf -- "$state_root"
}
trap cleanup EXIT
export XDG_RUNTIME_DIR=$state_root VOIDBOX_KEEP_STATE=1
show_vm_logs() {
  local f
  for f in "$state_root"/voidbox/*/vmm.log "$state_root"/voidbox/*/console.log; do
    [[ -f $f ]] || continue
    printf -- '--- %s (last 60 lines) ---\n' "$f" >&2
    tail -n 60 "$f" >&2
  done
}
fail() {
  printf 'agent-e2e: FAIL: %s\n' "$*" >&2
  show_vm_logs
  exit 1
}
value() { sed -n "s/^$1=//p" <<<"$2" | tail -1; }
json_field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

ip link set lo up 2>/dev/null || true
export VOIDBOX_CONNECT_DEADLINE_SECS=${VOIDBOX_CONNECT_DEADLINE_SECS:-120}
kernel_info=$("$src/scripts/fetch-kernel.sh" --quiet) || fail "scripts/fetch-kernel.sh failed"
krel=$(value VERSION "$kernel_info")
image_info=$("$src/scripts/build-guest-image.sh" --quiet --kernel-version "$krel" \
  --agent "$build/bin/voidbox-guest-agent") || fail "scripts/build-guest-image.sh failed"
export VOID_BOX_INITRAMFS; VOID_BOX_INITRAMFS=$(value INITRAMFS "$image_info")
[[ -f $VOID_BOX_INITRAMFS ]] || fail "no initramfs: $image_info"
disk=$("$src/scripts/build-agent-disk.sh" claude) || fail "scripts/build-agent-disk.sh claude failed"
export VOIDBOX_AGENT_DISK_CLAUDE=$disk
echo "agent disk: $disk ($(du -h "$disk" | cut -f1))" >&2

# A key of the real format's shape that exists nowhere else; its two halves
# go into the scan command.
key="sk-ant-api03-e2e$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
half1=${key:0:20}
half2=${key:20}
key_fp="sha256:$(printf '%s' "$key" | sha256sum | cut -c1-16)"

mkdir -p "$state_root/out"
# The canary is in the sandbox's env, so the runtime hands it to claude-code
# exactly as it would the key: the scan must find it.
canary="vb-canary-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
scan='a='$half1'; b='$half2'; k="$a$b"; p='$canary'
scan+='
echo pineapple > /workspace/out/marker.txt
count() { hits=0; for f in "$@"; do [ -r "$f" ] || continue; if grep -qF -e "$needle" "$f" 2>/dev/null; then hits=$((hits+1)); echo "$f" >> /workspace/out/scan-hits-$label.txt; fi; done; echo $hits; }
needle=$k; label=key; ke=$(count /proc/[0-9]*/environ); kc=$(count /proc/[0-9]*/cmdline)
kf=$(find / \( -path /proc -o -path /sys -o -path /dev -o -path /opt/voidbox/agent -o -path /workspace/out \) -prune -o -type f -print 2>/dev/null | while read -r f; do grep -qF -e "$k" "$f" 2>/dev/null && echo "$f"; done | wc -l)
needle=$p; label=canary; pe=$(count /proc/[0-9]*/environ)
echo "scan key_environ=$ke key_cmdline=$kc key_files=$kf canary_environ=$pe" > /workspace/out/scan.txt
cat /workspace/out/scan.txt'
final_text="The marker is written and the scan is done."
python3 - "$state_root/turns.json" "$scan" "$final_text" <<'PY'
import json, sys
path, command, final = sys.argv[1:4]
json.dump({"model": "claude-mock", "turns": [
    {"content": [{"type": "tool_use", "name": "Bash",
                  "input": {"command": command, "description": "write the marker and scan"}}],
     "usage": {"input_tokens": 40, "output_tokens": 12}},
    {"content": [{"type": "text", "text": final}], "stop_reason": "end_turn",
     "usage": {"input_tokens": 60, "output_tokens": 9}}]}, open(path, "w"))
PY

coproc MOCK { exec node "$src/tools/mock-anthropic/mock-anthropic.js" --script "$state_root/turns.json" \
  --log "$state_root/requests.jsonl" --stdin-lifeline; }
mock_pid=$MOCK_PID
read -r -t 30 mock_port <&"${MOCK[0]}" || fail "the mock printed no port"
[[ $mock_port =~ ^[0-9]+$ ]] || fail "the mock printed '$mock_port', not a port"
echo "mock on 127.0.0.1:$mock_port" >&2

cat >"$state_root/agent.yaml" <<YAML
api_version: v1
kind: agent
name: agent-e2e
sandbox:
  memory_mb: 1536
  env:
    VB_E2E_CANARY: $canary
  mounts:
    - host: $state_root/out
      guest: /workspace/out
      mode: rw
llm:
  provider: claude
  base_url: http://127.0.0.1:$mock_port
agent:
  prompt: Write the marker file and scan the guest.
  timeout_secs: 600
YAML

mkdir -p "$state_root/dump"
set +e
ANTHROPIC_API_KEY=$key VOIDBOX_MEMORY_DUMP_DIR=$state_root/dump "$vb" --output json run --backend kvm --file "$state_root/agent.yaml" \
  >"$state_root/events.jsonl" 2>"$state_root/run.err"
rc=$?
set -e
# The run's own output must not hold the key either.
! grep -qF -e "$key" "$state_root/events.jsonl" "$state_root/run.err" || fail "the key appears in voidbox's output"
sed -e "s/$half2/<redacted>/g" "$state_root/run.err" | tail -n 40 >&2
finished=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e=json.loads(l)
    if e.get("event")=="run_finished": print(json.dumps(e))' "$state_root/events.jsonl")
echo "run_finished: $finished" >&2
((rc == 0)) || fail "voidbox run exited $rc"
[[ -n $finished ]] || fail "no run_finished event"
python3 - "$finished" "$final_text" <<'PY' || fail "the typed result is not what the mock scripted"
import json, sys
e = json.loads(sys.argv[1]); final = sys.argv[2]
a = e["agents"][0]
assert e["success"] is True, e
assert a["result"] == final, a["result"]
assert e["output"] == final, e["output"]
assert a["num_turns"] == 2, a["num_turns"]
assert a["tool_calls"] == ["Bash"], a["tool_calls"]
assert a["model"], "no model in the result"
PY
grep -q '"type":"tool_use","tool":"Bash"' "$state_root/events.jsonl" || fail "no streamed tool_use event for Bash"
[[ $(cat "$state_root/out/marker.txt" 2>/dev/null) == pineapple ]] || fail "the marker file is not on the host"

requests=$(wc -l <"$state_root/requests.jsonl")
python3 - "$state_root/requests.jsonl" "$key_fp" <<'PY' || fail "the mock did not see the real key on every request"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
msgs = [r for r in reqs if r["path"].startswith("/v1/messages")]
assert len(msgs) == 2, f"{len(msgs)} /v1/messages requests"
for r in reqs:
    assert r["headers"].get("x-api-key") == sys.argv[2], r["headers"].get("x-api-key")
PY
scan_line=$(cat "$state_root/out/scan.txt" 2>/dev/null) || fail "the scan wrote no result"
echo "guest $scan_line; mock saw $requests requests, each with the real key" >&2
for f in key_environ key_cmdline key_files; do
  [[ $scan_line == *" $f=0"* || $scan_line == *"scan $f=0"* ]] || {
    cat "$state_root"/out/scan-hits-key.txt >&2 2>/dev/null || true
    fail "the guest holds the key ($f): $scan_line"
  }
done
[[ $scan_line =~ canary_environ=([0-9]+) ]] && ((BASH_REMATCH[1] >= 1)) ||
  fail "the scan did not find the canary in any environment, so it proves nothing: $scan_line"
# The VMM's dump of the whole guest RAM, taken after the agent finished.
dump=$(ls "$state_root"/dump/*.mem 2>/dev/null | head -1)
[[ -n $dump ]] || fail "the VMM wrote no memory dump"
grep -h 'memory dump:' "$state_root"/voidbox/*/vmm.log >&2 || true
if grep -qaF -e "$key" "$dump"; then fail "the key is in the guest's RAM"; fi
grep -qaF -e "$canary" "$dump" || fail "the canary is not in the RAM dump either, so the dump proves nothing"
echo "guest RAM dump ($(du -h "$dump" | cut -f1) non-zero): no key, canary present" >&2
echo "agent-e2e: ok" >&2
