#!/usr/bin/env bash
# Two host shares in one spec, on the kvm backend (inside the VM test
# harness), both of the type given as the first argument: 9p (the default)
# or virtiofs. The guest's command user (uid 1000) must
#  - read the read-only share, and fail to write it with EROFS;
#  - write the read-write share (created by voidbox, since it does not exist
#    beforehand), the file arriving on the host with its content and owned
#    by the user who ran voidbox;
#  - reach nothing outside either share: `..` past the mount point, a host
#    symlink (absolute and relative) planted in the rw share that points at
#    a host directory holding a marker, and a symlink to /etc the guest
#    plants itself (which resolves to the guest's own /etc, never the host's).
set -euo pipefail

type=${1:-9p}
case $type in
  9p) name=kvm-mounts ;;
  virtiofs) name=kvm-mounts-virtiofs ;;
  *) echo "usage: run.sh [9p|virtiofs]" >&2; exit 2 ;;
esac
build=${VOIDBOX_BUILD_DIR:?}
src=${VOIDBOX_SOURCE_DIR:?}
vb=$build/bin/voidbox

# Local (not the harness's 9p TMPDIR): the VM's state directory holds sockets.
work=$(mktemp -d /tmp/kvm-mounts.XXXXXX)
trap 'rm -rf -- "$work"' EXIT
export XDG_RUNTIME_DIR=$work/run VOIDBOX_KEEP_STATE=1
mkdir -p "$XDG_RUNTIME_DIR"
fail() {
  printf '%s: FAIL: %s\n' "$name" "$*" >&2
  local f
  for f in "$XDG_RUNTIME_DIR"/voidbox/*/vmm.log "$XDG_RUNTIME_DIR"/voidbox/*/console.log; do
    [[ -f $f ]] || continue
    printf -- '--- %s (last 40 lines) ---\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
  exit 1
}
value() { sed -n "s/^$1=//p" <<<"$2" | tail -1; }

export VOIDBOX_CONNECT_DEADLINE_SECS=${VOIDBOX_CONNECT_DEADLINE_SECS:-120}
echo "$name: guest kernel and image" >&2
kernel_info=$("$src/scripts/fetch-kernel.sh" --quiet) || fail "scripts/fetch-kernel.sh failed"
krel=$(value VERSION "$kernel_info")
image_info=$("$src/scripts/build-guest-image.sh" --quiet --kernel-version "$krel" \
  --agent "$build/bin/voidbox-guest-agent") || fail "scripts/build-guest-image.sh failed"
unset VOID_BOX_KERNEL
export VOID_BOX_INITRAMFS; VOID_BOX_INITRAMFS=$(value INITRAMFS "$image_info")

ro=$work/ro rw=$work/rw outside=$work/outside
mkdir -p "$ro/sub" "$outside"
printf 'read-only input\n' >"$ro/input.txt"
marker="host-marker-$RANDOM$RANDOM"
printf '%s\n' "$marker" >"$outside/marker"
cat >"$work/spec.yaml" <<SPEC
api_version: v1
kind: workflow
name: $name
sandbox:
  memory_mb: 256
  mounts:
    - host: $ro
      guest: /mnt/ro
      mode: ro
      type: $type
    - host: $rw
      guest: /mnt/rw
      mode: rw
      type: $type
workflow:
  steps:
    - name: check
      run:
        program: sh
        args: ["-c", "sh /mnt/ro/check.sh 2>&1"]
  output_step: check
SPEC
# The guest side, read from the read-only share itself.
cat >"$ro/check.sh" <<'GUEST'
echo "uid=$(id -u)"
echo "fstypes=$(awk '$2=="/mnt/ro"||$2=="/mnt/rw"{print $3}' /proc/mounts | sort -u | tr '\n' ' ')"
echo "ro-read=$(cat /mnt/ro/input.txt)"
if { echo x >/mnt/ro/new.txt; } 2>/tmp/ro.err; then echo "ro-write=allowed"; else echo "ro-write=refused: $(cat /tmp/ro.err)"; fi
if mkdir /mnt/ro/newdir 2>/tmp/ro.err; then echo "ro-mkdir=allowed"; else echo "ro-mkdir=refused: $(cat /tmp/ro.err)"; fi
echo "from the guest" >/mnt/rw/out.txt && echo "rw-write=ok"
mkdir -p /mnt/rw/nested/deeper && echo data >/mnt/rw/nested/deeper/f && echo "rw-nested=ok"
echo "escape-dotdot=$(cat /mnt/ro/../../outside/marker /mnt/rw/../outside/marker /mnt/ro/../../../../etc/shadow 2>&1 | tr '\n' ' ')"
echo "escape-abs=$(cat /mnt/rw/planted-abs/marker 2>&1)"
echo "escape-rel=$(cat /mnt/rw/planted-rel/marker 2>&1)"
ln -s /etc /mnt/rw/etc-link && echo "guest-link=ok"
if [ "$(cat /mnt/rw/etc-link/passwd)" = "$(cat /etc/passwd)" ]; then echo "etc-link=guest-own"; else echo "etc-link=other"; fi
echo "ls-rw=$(ls /mnt/rw | tr '\n' ' ')"
GUEST
# Symlinks the host plants in the rw share before the run, pointing out.
mkdir -p "$rw"
ln -s "$outside" "$rw/planted-abs"
ln -s ../outside "$rw/planted-rel"

echo "$name: voidbox run" >&2
out=$("$vb" run --file "$work/spec.yaml" --backend kvm 2>"$work/stderr") ||
  fail "voidbox run failed ($?): $(tail -n 20 "$work/stderr")"
printf '%s\n' "$out" >&2
line() { sed -n "s/^$1=//p" <<<"$out" | head -1; }

[[ $(line uid) == 1000 ]] || fail "the command did not run as the guest's command user: $(line uid)"
[[ $(line fstypes) == "$type " ]] || fail "the shares are not both $type mounts: $(line fstypes)"
[[ $(line ro-read) == "read-only input" ]] || fail "ro share not readable: $(line ro-read)"
[[ $(line ro-write) == *"Read-only file system"* ]] || fail "ro write: $(line ro-write)"
[[ $(line ro-mkdir) == *"Read-only file system"* ]] || fail "ro mkdir: $(line ro-mkdir)"
[[ ! -e $ro/new.txt && ! -e $ro/newdir ]] || fail "the ro share changed on the host"
[[ $(line rw-write) == ok ]] || fail "rw write failed: $out"
[[ $(line rw-nested) == ok ]] || fail "rw nested mkdir failed: $out"
[[ $(cat "$rw/out.txt") == "from the guest" ]] || fail "rw file content on the host: $(cat "$rw/out.txt")"
[[ $(stat -c %u "$rw/out.txt") == "$(id -u)" ]] ||
  fail "rw file owned by uid $(stat -c %u "$rw/out.txt"), expected the invoking user $(id -u)"
[[ $(cat "$rw/nested/deeper/f") == data ]] || fail "nested file missing on the host"
grep -q "$marker" <<<"$out" && fail "the guest read a host file outside the shares: $out"
for k in escape-abs escape-rel; do
  [[ $(line "$k") == *"No such file"* ]] || fail "$k: $(line "$k")"
done
[[ $(line guest-link) == ok ]] || fail "the guest could not make a symlink in the rw share"
[[ $(readlink "$rw/etc-link") == /etc ]] || fail "host sees $(readlink "$rw/etc-link") for the guest's link"
[[ $(line etc-link) == guest-own ]] || fail "following the guest's /etc link: $(line etc-link)"
echo "$name: ok"
