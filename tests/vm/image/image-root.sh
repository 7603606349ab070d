#!/usr/bin/env bash
# sandbox.image on KVM: a Debian image (built by build-debian-image.sh) is
# pushed to a docker-registry on loopback, pulled by `voidbox run`, turned
# into a cached ext4 disk and booted as the guest's root under a tmpfs
# overlay. Shows: python3 from the image prints 42; the image's Env and
# WorkingDir reach the command; the image's own /var/tmp is writable (the
# overlay); two VMs on the same
# image at once both work; the disk file's hash never changes.
# Runs inside the VM test harness as root, in a network namespace of its own.
set -euo pipefail

if [[ -z ${IMAGE_ROOT_NETNS:-} ]]; then
  exec unshare --net env IMAGE_ROOT_NETNS=1 "$0" "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
build=${VOIDBOX_BUILD_DIR:?}
src=${VOIDBOX_SOURCE_DIR:?}
vb=$build/bin/voidbox

work=$(mktemp -d /tmp/image-root.XXXXXX)
registry_pid=""
cleanup() {
  [[ -n $registry_pid ]] && kill "$registry_pid" 2>/dev/null || true
  rm -rf -- "$work"
}
trap cleanup EXIT
export XDG_RUNTIME_DIR=$work/run VOIDBOX_KEEP_STATE=1
mkdir -p "$XDG_RUNTIME_DIR"
shared_cache=${XDG_CACHE_HOME:-$HOME/.cache}/voidbox
fail() {
  printf 'image-root: FAIL: %s\n' "$*" >&2
  local f
  for f in "$work"/run/voidbox/*/console.log; do
    [[ -f $f ]] && { printf -- '--- %s ---\n' "$f" >&2; tail -n 30 "$f" >&2; }
  done
  exit 1
}
value() { sed -n "s/^$1=//p" <<<"$2" | tail -1; }
ip link set lo up

export VOIDBOX_CONNECT_DEADLINE_SECS=${VOIDBOX_CONNECT_DEADLINE_SECS:-180}
kernel_info=$("$src/scripts/fetch-kernel.sh" --quiet) || fail "scripts/fetch-kernel.sh failed"
krel=$(value VERSION "$kernel_info")
# Our own initramfs: the cached one is rebuilt by any other VM test whose
# agent differs, perhaps while this one runs.
image_info=$("$src/scripts/build-guest-image.sh" --quiet --kernel-version "$krel" \
  --agent "$build/bin/voidbox-guest-agent" --output "$work/initramfs.cpio.gz") ||
  fail "scripts/build-guest-image.sh failed"
export VOID_BOX_INITRAMFS; VOID_BOX_INITRAMFS=$(value INITRAMFS "$image_info")
oci_info=$(VOIDBOX_CACHE=$shared_cache "$here/build-debian-image.sh") ||
  fail "build-debian-image.sh failed"
# An image cache of our own, so the first run must pull and build the disk;
# the guest kernel still comes from the shared cache.
export XDG_CACHE_HOME=$work/cache
mkdir -p "$XDG_CACHE_HOME/voidbox"
ln -s "$shared_cache/kernels" "$XDG_CACHE_HOME/voidbox/kernels"
layout=$(value LAYOUT "$oci_info")
tag=$(value TAG "$oci_info")

port=5917
mkdir -p "$work/registry"
cat >"$work/registry/config.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry/storage
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
ref=127.0.0.1:$port/voidbox-test/debian-python3:$tag
t0=$(date +%s)
skopeo copy --quiet --dest-tls-verify=false "oci:$layout:$tag" "docker://$ref" ||
  fail "skopeo could not push the image"
echo "image-root: pushed in $(($(date +%s) - t0)) s" >&2

write_spec() {
  cat >"$work/$1.yaml" <<YML
api_version: v1
kind: workflow
name: image-$1
sandbox:
  memory_mb: 512
  network: false
  image: $ref
workflow:
  steps:
    - name: py
      timeout_secs: 240
      run:
        program: sh
        args:
          - -c
          - |
            python3 -c 'print(6*7)'
            echo "mark=\$VOIDBOX_IMAGE_MARK cwd=\$(pwd)"
            grep -q '^VERSION_CODENAME=bookworm' /etc/os-release && echo os=bookworm
            echo scratch >/tmp/written && cat /tmp/written
            echo $1 >/var/tmp/written && grep -qx $1 /var/tmp/written && echo root=writable
  output_step: py
YML
}

# run_spec NAME: runs it, output in $work/NAME.out.
run_spec() {
  "$vb" run --backend kvm --file "$work/$1.yaml" >"$work/$1.out" 2>"$work/$1.err"
}
check_output() {
  local out
  out=$(cat "$work/$1.out")
  for want in 42 "mark=debian-python3 cwd=/srv" os=bookworm scratch root=writable; do
    grep -qx -- "$want" <<<"$out" || { cat "$work/$1.err" >&2; fail "$1: no line '$want' in: $out"; }
  done
}

write_spec first
t0=$(date +%s)
run_spec first || { cat "$work/first.err" >&2; fail "the first run failed"; }
echo "image-root: first run (pull, disk build, boot) in $(($(date +%s) - t0)) s" >&2
check_output first

shopt -s nullglob
disks=("$XDG_CACHE_HOME"/voidbox/oci/disks/*.ext4)
[[ ${#disks[@]} -eq 1 ]] || fail "expected one cached disk, found: ${disks[*]:-none}"
before=$(sha256sum <"${disks[0]}")

write_spec a
write_spec b
t0=$(date +%s)
run_spec a & pid_a=$!
run_spec b & pid_b=$!
wait "$pid_a" || { cat "$work/a.err" >&2; fail "VM a (of two at once) failed"; }
wait "$pid_b" || { cat "$work/b.err" >&2; fail "VM b (of two at once) failed"; }
echo "image-root: two VMs at once in $(($(date +%s) - t0)) s" >&2
check_output a
check_output b
disks=("$XDG_CACHE_HOME"/voidbox/oci/disks/*.ext4)
[[ ${#disks[@]} -eq 1 ]] || fail "the disk was built again: ${disks[*]}"
after=$(sha256sum <"${disks[0]}")
[[ $before == "$after" ]] || fail "the shared disk changed: $before -> $after"
echo "image-root: ok (disk $(du -h "${disks[0]}" | cut -f1), hash unchanged)"
