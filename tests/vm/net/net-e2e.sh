#!/usr/bin/env bash
# Guest networking end to end on KVM: a real guest kernel with virtio-net,
# the net-slirp transport and its egress policy. Runs inside the VM test
# harness (voidbox_add_vm_test), as root, in a network namespace of its own
# so the test's servers and routes never touch the machine's network:
#   127.0.0.1          the host's loopback (HTTP and DNS servers here)
#   203.0.113.0/24,    "public" addresses served by the same servers through
#   198.51.100.0/24    local routes (not interface addresses, so the policy's
#                      host-address rule does not cover them)
#
#   net-e2e.sh basic | allowlist | deny | no-network   one check group
#   net-e2e.sh link | policy     the groups CTest runs, two per L1 boot:
#                                basic + no-network, allowlist + deny
set -euo pipefail

case_name=${1:?usage: net-e2e.sh basic|allowlist|deny|no-network|link|policy}
if [[ -z ${NET_E2E_NETNS:-} ]]; then
  exec unshare --net env NET_E2E_NETNS=1 "$0" "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
build=${VOIDBOX_BUILD_DIR:?}
src=${VOIDBOX_SOURCE_DIR:?}
vb=$build/bin/voidbox

state_root=$(mktemp -d /tmp/net-e2e.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf -- "$state_root"
}
trap cleanup EXIT
export XDG_RUNTIME_DIR=$state_root VOIDBOX_KEEP_STATE=1
show_vm_logs() {
  local f
  for f in "$state_root"/voidbox/*/vmm.log "$state_root"/voidbox/*/console.log; do
    [[ -f $f ]] || continue
    printf -- '--- %s (last 40 lines) ---\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
}
fail() {
  printf 'net-e2e %s: FAIL: %s\n' "$case_name" "$*" >&2
  show_vm_logs
  exit 1
}
value() { sed -n "s/^$1=//p" <<<"$2" | tail -1; }

ip link set lo up
ip route add local 203.0.113.0/24 dev lo
ip route add local 198.51.100.0/24 dev lo

export VOIDBOX_CONNECT_DEADLINE_SECS=${VOIDBOX_CONNECT_DEADLINE_SECS:-120}
kernel_info=$("$src/scripts/fetch-kernel.sh" --quiet) || fail "scripts/fetch-kernel.sh failed"
krel=$(value VERSION "$kernel_info")
image_info=$("$src/scripts/build-guest-image.sh" --quiet --kernel-version "$krel" \
  --agent "$build/bin/voidbox-guest-agent") || fail "scripts/build-guest-image.sh failed"
export VOID_BOX_INITRAMFS; VOID_BOX_INITRAMFS=$(value INITRAMFS "$image_info")
[[ -f $VOID_BOX_INITRAMFS ]] || fail "no initramfs: $image_info"

# start_http DIR PORT: serves DIR on 0.0.0.0:PORT.
start_http() {
  python3 -m http.server --bind 0.0.0.0 --directory "$1" "$2" >"$state_root/http-$2.log" 2>&1 &
  pids+=($!)
  local i
  for i in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  fail "the HTTP server on port $2 did not start"
}

# run_guest_spec NAME NETWORK_YAML GUEST_SCRIPT [voidbox run args...]: runs
# lib.sh + GUEST_SCRIPT as the one step of a workflow whose
# sandbox.network is NETWORK_YAML; the output goes to $state_root/NAME.out,
# the JSON events to NAME.events.
write_spec() {
  local name=$1 network=$2 script=$3
  {
    printf 'api_version: v1\nkind: workflow\nname: net-%s\n' "$name"
    printf 'sandbox:\n  memory_mb: 512\n  network:\n'
    sed 's/^/    /' <<<"$network"
    printf 'workflow:\n  steps:\n    - name: checks\n      timeout_secs: 240\n'
    printf '      run:\n        program: sh\n        args:\n          - -c\n          - |\n'
    cat "$here/guest/lib.sh" "$script" | sed 's/^/            /'
    printf '  output_step: checks\n'
  } >"$state_root/$name.yaml"
}

# expect_checks OUTPUT NAME...: every named check said ok.
expect_checks() {
  local out=$1 name
  shift
  grep '^CHECK ' <<<"$out" >&2 || true
  for name in "$@"; do
    grep -qx "CHECK $name ok" <<<"$out" || fail "check $name: $(grep "^CHECK $name " <<<"$out" || echo 'did not run')"
  done
}

vmm_network_summary() {
  local log
  log=$(ls -t "$state_root"/voidbox/*/vmm.log 2>/dev/null | head -1)
  [[ -n $log ]] || fail "no vmm.log kept"
  sed -n 's/^voidbox-vmm: network: //p' "$log" | tail -1
}

run_case() {
  case_name=$1
  case $case_name in
  basic)
    mkdir -p "$state_root/www"
    head -c $((10 << 20)) /dev/urandom >"$state_root/www/blob"
    sha=$(sha256sum <"$state_root/www/blob" | cut -d' ' -f1)
    start_http "$state_root/www" 18080
    sed -e "s|\$BLOB_URL|http://10.0.2.2:18080/blob|" -e "s|\$BLOB_SHA256|$sha|" \
      "$here/guest/basic.sh" >"$state_root/basic.sh"
    write_spec basic 'true' "$state_root/basic.sh"
    "$vb" --output json run --backend kvm --file "$state_root/basic.yaml" \
      --publish 127.0.0.1:0:8000 >"$state_root/basic.events" 2>"$state_root/basic.err" &
    run_pid=$!
    port=""
    for _ in $(seq 1 1200); do
      port=$(python3 - "$state_root/basic.events" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    if event.get("event") == "sandbox_ready":
        ports = event.get("published_ports", [])
        if ports:
            print(ports[0]["host_port"])
PY
)
      [[ -n $port ]] && break
      kill -0 "$run_pid" 2>/dev/null || break
      sleep 0.2
    done
    [[ -n $port ]] || { cat "$state_root/basic.err" >&2; fail "no published port in the sandbox_ready event"; }
    echo "published port: 127.0.0.1:$port -> guest 8000" >&2
    reply=""
    for _ in $(seq 1 240); do
      reply=$(timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; echo ping-from-host >&3; head -n1 <&3' _ "$port" 2>/dev/null || true)
      [[ $reply == hello-from-guest ]] && break
      kill -0 "$run_pid" 2>/dev/null || break
      sleep 0.5
    done
    set +e
    wait "$run_pid"
    rc=$?
    set -e
    out=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e=json.loads(l)
    if e.get("event")=="run_finished": print(e.get("output",""))' "$state_root/basic.events")
    ((rc == 0)) || { cat "$state_root/basic.err" >&2; fail "voidbox run exited $rc; output: $out"; }
    [[ $reply == hello-from-guest ]] || fail "host client read '$reply' from the published port"
    expect_checks "$out" eth0 resolv-conf fetch-10mib published-port
    ;;
  allowlist | deny)
    if [[ -z ${VOIDBOX_DNS_UPSTREAM:-} ]]; then
      mkdir -p "$state_root/pub"
      echo pong >"$state_root/pub/ping.txt"
      start_http "$state_root/pub" 8080
      python3 "$here/dns_server.py" 5353 allowed.test=203.0.113.10 >"$state_root/dns.log" 2>&1 &
      pids+=($!)
      for _ in $(seq 1 100); do grep -q ready "$state_root/dns.log" && break; sleep 0.1; done
      grep -q ready "$state_root/dns.log" || fail "the test DNS server did not start: $(cat "$state_root/dns.log")"
      export VOIDBOX_DNS_UPSTREAM=127.0.0.1:5353
    fi
    if [[ $case_name == allowlist ]]; then
      write_spec allowlist 'allow_domains: [allowed.test]' "$here/guest/allowlist.sh"
      checks=(dns-allowed dns-other-server dns-not-allowed dns-not-allowed-other-server
        connect-allowed direct-ip metadata)
    else
      write_spec deny $'deny_cidrs: [198.51.100.0/24]\nmax_concurrent_connections: 8\nmax_connections_per_second: 10' \
        "$here/guest/deny.sh"
      checks=(open-public deny-cidr metadata private concurrency-limit rate-limit after-flood)
    fi
    set +e
    out=$("$vb" run --backend kvm --file "$state_root/$case_name.yaml" 2>"$state_root/$case_name.err")
    rc=$?
    set -e
    ((rc == 0)) || { cat "$state_root/$case_name.err" >&2; fail "voidbox run exited $rc; output: $out"; }
    echo "$out" >&2
    expect_checks "$out" "${checks[@]}"
    summary=$(vmm_network_summary)
    echo "VMM network summary: $summary" >&2
    [[ -n $summary ]] || fail "the VMM printed no network summary"
    counter() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["counters"].get(sys.argv[2], -1))' "$summary" "$1"; }
    denials() { python3 -c 'import json,sys; print(" ".join(d["destination"]+":"+d["reason"] for d in json.loads(sys.argv[1])["denials"]))' "$summary"; }
    echo "denials: $(denials)" >&2
    if [[ $case_name == allowlist ]]; then
      grep -q 'query allowed.test' "$state_root/dns.log" || fail "the upstream DNS server never saw allowed.test"
      ! grep -q 'query other.test' "$state_root/dns.log" || fail "a query for a name not allowed reached the upstream"
      (($(counter dns_nxdomain) >= 2)) || fail "dns_nxdomain counter $(counter dns_nxdomain)"
      [[ $(denials) == *198.51.100.20* ]] || fail "the direct-IP denial is not in the summary"
    else
      (($(counter rate_limited) >= 1)) || fail "rate_limited counter $(counter rate_limited)"
      (($(counter concurrency_limited) >= 1)) || fail "concurrency_limited counter $(counter concurrency_limited)"
      [[ $(denials) == *198.51.100.20* ]] || fail "the deny_cidrs denial is not in the summary"
      [[ $(denials) == *169.254.169.254* ]] || fail "the metadata denial is not in the summary"
    fi
    ;;
  no-network)
    out=$("$vb" exec --backend kvm -- sh -c 'ls /sys/class/net | tr "\n" " "') || fail "exec failed with $?"
    [[ $out == "lo " ]] || fail "network: false guest has interfaces '$out', expected only lo"
    out=$("$vb" exec --backend kvm --network -- sh -c 'ls /sys/class/net | tr "\n" " "') || fail "exec --network failed with $?"
    [[ $out == "eth0 lo " ]] || fail "--network guest has interfaces '$out', expected eth0 and lo"
    ;;
  *) fail "unknown case" ;;
  esac
  echo "net-e2e $case_name: ok" >&2
}

case $case_name in
  link) run_case basic; run_case no-network ;;
  policy) run_case allowlist; run_case deny ;;
  *) run_case "$case_name" ;;
esac
