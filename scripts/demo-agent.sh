#!/usr/bin/env bash
# Runs the real claude-code in a VM: sets up like scripts/demo.sh, builds the
# claude agent disk, starts the scripted Messages API mock
# (tools/mock-anthropic, which answers with one Bash tool call and a final
# text) and runs specs/examples/agent-mock.yaml against it through the
# credential proxy. The file the agent writes lands in ./voidbox-demo-out.
# On PVM hosts it all runs inside scripts/vmtest.sh, as demo.sh does.
#
# usage: scripts/demo-agent.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
spec=specs/examples/agent-mock.yaml
step() { printf '\n==> %s\n' "$*" >&2; }

if [[ ${1:-} == --here ]]; then
  # The mock and the run, on a host whose KVM boots the guest.
  turns=$(mktemp /tmp/voidbox-demo-turns.XXXXXX)
  cat >"$turns" <<'JSON'
{"model": "claude-mock", "turns": [
  {"content": [{"type": "tool_use", "name": "Bash",
                "input": {"command": "echo 'Hello from claude-code in a VoidBox VM' > /workspace/out/hello.txt && uname -r",
                          "description": "write the greeting"}}]},
  {"content": [{"type": "text", "text": "I wrote a greeting to /workspace/out/hello.txt."}]}]}
JSON
  log=$(mktemp /tmp/voidbox-demo-requests.XXXXXX)
  coproc MOCK { exec node tools/mock-anthropic/mock-anthropic.js --script "$turns" --log "$log" --stdin-lifeline; }
  read -r -t 30 port <&"${MOCK[0]}" || { echo "demo-agent.sh: the mock did not start" >&2; exit 1; }
  step "Running $spec against the mock on 127.0.0.1:$port"
  export VOIDBOX_CONNECT_DEADLINE_SECS=${VOIDBOX_CONNECT_DEADLINE_SECS:-180}
  rc=0
  ANTHROPIC_API_KEY=demo-key-not-real VOIDBOX_LLM_BASE_URL=http://127.0.0.1:$port \
    build/bin/voidbox run --backend kvm --file "$spec" || rc=$?
  step "The agent wrote: $(cat voidbox-demo-out/hello.txt 2>/dev/null || echo '(nothing)')"
  rm -f "$turns" "$log"
  exit "$rc"
fi

case ${1:-} in
  -h | --help)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac
step "Installing packages (and the claude-code npm package)"
bash scripts/setup.sh
step "Building"
bash scripts/build.sh
step "Fetching the guest kernel"
bash scripts/fetch-kernel.sh >/dev/null
step "Building the guest image"
bash scripts/build-guest-image.sh >/dev/null
step "Building the claude agent disk"
bash scripts/build-agent-disk.sh claude >/dev/null
if build/bin/voidbox doctor >/dev/null 2>&1; then
  exec bash "$0" --here
fi
step "This host's KVM cannot boot stock kernels (see build/bin/voidbox doctor); running inside scripts/vmtest.sh"
exec bash scripts/vmtest.sh --retries 1 --share "$root" -- bash "$root/scripts/demo-agent.sh" --here
