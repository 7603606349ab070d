#!/usr/bin/env bash
# Builds the VoidBox guest initramfs: the guest agent as /init, a static
# busybox with the usual applets, and the kernel modules the agent loads at
# boot (vsock, virtio, 9p, virtiofs, overlay, net, blk), decompressed to plain .ko.
#
# The output is reproducible: the same inputs give the same bytes.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

# Modules wanted in every image (their dependencies are added from modinfo).
default_modules=(
  virtio_mmio virtio_pci
  vsock vmw_vsock_virtio_transport
  virtio_net
  9pnet_virtio 9p
  fuse virtiofs
  overlay
  virtio_blk ext4 crc32c_generic
  virtio_console
)

applets=(
  sh ash echo cat tr test '[' '[[' ls mkdir rmdir rm cp mv ln pwd id whoami uname
  hostname sed grep egrep fgrep awk env printenv printf head tail sort uniq wc cut
  date sleep find xargs dd stat chmod chown touch tar gzip gunzip zcat base64
  basename dirname readlink realpath which true false yes seq tee du df mount
  umount ps kill free uptime ip ifconfig route udhcpc wget nc vi less more diff
  md5sum sha256sum expr timeout nproc mktemp tty stty clear reset hexdump od nslookup
  xxd cmp comm fold tac rev sync insmod lsmod modprobe dmesg
)

usage() {
  cat <<EOF
Usage: $prog [options]

Builds the guest initramfs and prints where it is:

  INITRAMFS=<path>   \${XDG_CACHE_HOME:-~/.cache}/voidbox/images/<KREL>/voidbox-initramfs-<KREL>.cpio.gz
  VMLINUZ=<path>     the kernel the image's modules belong to
  VERSION=<KREL>
  SHA256=<hex>       of the initramfs

The image sits next to its manifest.txt (inputs and their sha256). The
runtime pairs images/<KREL>/ with kernels/<KREL>/vmlinuz, so \`voidbox\` finds
both without configuration. An up-to-date image is reused, not rebuilt.

Contents: /init (the guest agent, stripped), /bin/busybox and applet links,
/lib/modules/<KREL>/... (.ko, decompressed), /etc/passwd and /etc/group
(root, sandbox=1000), empty /dev /proc /sys /tmp /run /workspace /home/sandbox.

Options:
  --kernel-version KREL  kernel whose modules to include (default: what
                         scripts/fetch-kernel.sh provides; env
                         VOIDBOX_KERNEL_VERSION)
  --modules-dir DIR      lib/modules/<KREL> tree to use instead of fetching
  --no-modules           no modules (for kernels with everything built in)
  --module NAME          add a module (and its dependencies); repeatable
  --agent PATH           guest agent binary (default: \$VOIDBOX_GUEST_AGENT,
                         else the newest build*/bin/voidbox-guest-agent)
  --busybox PATH         static busybox (default: /bin/busybox)
  -o, --output PATH      write the image here instead of the cache
  --force                rebuild even if the cached image is up to date
  --quiet                no progress messages on stderr
  -h, --help             this text

Reproducibility: entries sorted (LC_ALL=C), owner 0:0, modes normalised,
mtimes = SOURCE_DATE_EPOCH (default: 0), cpio --reproducible -H newc, gzip -n.
EOF
}

say() { ((quiet)) || printf '%s: %s\n' "$prog" "$*" >&2; }
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }

krel=${VOIDBOX_KERNEL_VERSION:-}
mdir="" with_modules=1 agent=${VOIDBOX_GUEST_AGENT:-} busybox=/bin/busybox out="" force=0 quiet=0
extra_modules=()
while (($#)); do
  case $1 in
    --kernel-version) krel=${2:?}; shift 2 ;;
    --modules-dir) mdir=${2:?}; shift 2 ;;
    --no-modules) with_modules=0; shift ;;
    --module) extra_modules+=("${2:?}"); shift 2 ;;
    --agent) agent=${2:?}; shift 2 ;;
    --busybox) busybox=${2:?}; shift 2 ;;
    -o|--output) out=${2:?}; shift 2 ;;
    --force) force=1; shift ;;
    --quiet) quiet=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) printf '%s: unknown argument: %s\n' "$prog" "$1" >&2; usage >&2; exit 2 ;;
  esac
done

export LC_ALL=C
epoch=${SOURCE_DATE_EPOCH:-0}
[[ $epoch =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH must be a number"
for tool in cpio gzip sha256sum strip find sort; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/setup.sh installs it)"
done

# --- inputs --------------------------------------------------------------
if [[ -z $agent ]]; then
  agent=$(ls -t "$repo"/build*/bin/voidbox-guest-agent 2>/dev/null | head -1 || true)
  [[ -n $agent ]] || die "no guest agent: build the voidbox-guest-agent target or pass --agent"
fi
[[ -x $agent ]] || die "agent $agent is not an executable"
agent=$(realpath "$agent")
file -b "$agent" 2>/dev/null | grep -q 'statically linked' ||
  die "agent $agent is not statically linked"
[[ -x $busybox ]] || die "busybox $busybox not found (apt-get install busybox-static)"
file -b "$busybox" 2>/dev/null | grep -q 'statically linked' ||
  die "busybox $busybox is not statically linked (apt-get install busybox-static)"

vmlinuz=""
if ((with_modules)); then
  if [[ -z $mdir ]]; then
    fetch_args=(--quiet)
    [[ -n $krel ]] && fetch_args+=(--version "$krel")
    fetched=$("$here/fetch-kernel.sh" "${fetch_args[@]}") || die "scripts/fetch-kernel.sh failed"
    mdir=$(sed -n 's/^MODULES=//p' <<<"$fetched")
    vmlinuz=$(sed -n 's/^VMLINUZ=//p' <<<"$fetched")
    krel=$(sed -n 's/^VERSION=//p' <<<"$fetched")
  fi
  [[ -d $mdir ]] || die "module tree $mdir not found"
  [[ -n $krel ]] || krel=$(basename "$mdir")
  command -v modinfo >/dev/null || [[ -x /sbin/modinfo ]] || die "modinfo not found (apt-get install kmod)"
else
  [[ -n $krel ]] || krel=builtin
fi
[[ -z $vmlinuz ]] && vmlinuz=${XDG_CACHE_HOME:-$HOME/.cache}/voidbox/kernels/$krel/vmlinuz

# Module closure in load order, read from each module's `depends=`.
declare -A mod_path=() mod_done=()
mod_order=()
modname() { local n=${1##*/}; n=${n%%.ko*}; printf '%s' "${n//-/_}"; }
# No process substitution here: /dev/fd is missing in minimal environments
# (the VM test harness).
index_modules() {
  local f list
  list=$(find "$mdir" \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' \) | sort)
  while IFS= read -r f; do
    [[ -n $f ]] && mod_path[$(modname "$f")]=$f
  done <<<"$list"
  builtin_list=""
  [[ -f $mdir/modules.builtin ]] && builtin_list=$(sed 's/-/_/g' "$mdir/modules.builtin")
}
is_builtin() { grep -q "/${1}.ko\$" <<<"$builtin_list"; }
add_module() {
  local name=${1//-/_} dep
  [[ -n ${mod_done[$name]:-} ]] && return 0
  mod_done[$name]=visiting
  if [[ -z ${mod_path[$name]:-} ]]; then
    is_builtin "$name" && return 0
    die "module $name is neither in $mdir nor built in"
  fi
  local deps
  deps=$(modinfo -F depends "${mod_path[$name]}") || die "modinfo failed on ${mod_path[$name]}"
  local IFS=,
  for dep in $deps; do
    [[ -n $dep ]] || continue
    [[ ${mod_done[${dep//-/_}]:-} == visiting ]] && die "module dependency cycle at $dep"
    add_module "$dep"
  done
  mod_done[$name]=done
  mod_order+=("$name")
}
if ((with_modules)); then
  index_modules
  for m in "${default_modules[@]}" "${extra_modules[@]}"; do add_module "$m"; done
fi

# Everything that determines the output bytes, hashed, for the up-to-date check.
inputs_digest() {
  {
    printf 'script %s\n' "$(sha256sum <"$0" | cut -d' ' -f1)"
    printf 'epoch %s\nkrel %s\n' "$epoch" "$krel"
    printf 'agent %s\n' "$(sha256sum <"$agent" | cut -d' ' -f1)"
    printf 'busybox %s\n' "$(sha256sum <"$busybox" | cut -d' ' -f1)"
    local m
    for m in "${mod_order[@]}"; do
      printf 'module %s %s\n' "$m" "$(sha256sum <"${mod_path[$m]}" | cut -d' ' -f1)"
    done
  } | sha256sum | cut -d' ' -f1
}
digest=$(inputs_digest)

cache=${XDG_CACHE_HOME:-$HOME/.cache}/voidbox
if [[ -z $out ]]; then
  out=$cache/images/$krel/voidbox-initramfs-$krel.cpio.gz
fi
manifest=$(dirname "$out")/manifest.txt
emit() {
  printf 'INITRAMFS=%s\nVMLINUZ=%s\nVERSION=%s\nSHA256=%s\n' "$out" "$vmlinuz" "$krel" \
    "$(sha256sum <"$out" | cut -d' ' -f1)"
}
if ((!force)) && [[ -f $out && -f $manifest ]] && grep -qx "inputs $digest" "$manifest"; then
  say "up to date: $out"
  emit
  exit 0
fi

# --- staging -------------------------------------------------------------
stage=$(mktemp -d "${TMPDIR:-/tmp}/voidbox-image.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
mkdir -p "$root"
for d in bin sbin usr/bin usr/sbin usr/local/bin etc dev proc sys tmp run mnt root \
         workspace home/sandbox lib/modules var/tmp; do
  mkdir -p "$root/$d"
done

say "agent: $agent"
strip --strip-all -o "$root/init" "$agent"
cp "$busybox" "$root/bin/busybox"
supported=$("$busybox" --list)
for a in "${applets[@]}"; do
  grep -qxF -- "$a" <<<"$supported" || continue
  ln -s busybox "$root/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nsandbox:x:1000:1000:sandbox:/home/sandbox:/bin/sh\n' \
  >"$root/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nsandbox:x:1000:\n' >"$root/etc/group"
printf 'voidbox\n' >"$root/etc/hostname"

if ((with_modules)); then
  say "modules ($krel): ${mod_order[*]}"
  for m in "${mod_order[@]}"; do
    src=${mod_path[$m]}
    rel=${src#"$mdir"/}
    rel=${rel%.xz}; rel=${rel%.zst}; rel=${rel%.gz}
    dest=$root/lib/modules/$krel/$rel
    mkdir -p "$(dirname "$dest")"
    case $src in
      *.ko.xz) xz -dc "$src" >"$dest" ;;
      *.ko.zst) zstd -qdc "$src" >"$dest" ;;
      *.ko.gz) gzip -dc "$src" >"$dest" ;;
      *) cp "$src" "$dest" ;;
    esac
  done
  printf '%s\n' "${mod_order[@]}" >"$root/lib/modules/$krel/load-order"
fi

# Normalise metadata so only content matters.
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -exec chmod 0644 {} +
chmod 0755 "$root/init" "$root/bin/busybox"
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"
find "$root" -exec touch -h -d "@$epoch" {} +

mkdir -p "$(dirname "$out")"
# Unique names, not $$: builds in two VM-test L1s share the cache over 9p
# and, booted alike, can have the same PID. Hidden, so that the runtime's
# newest-initramfs lookup never picks a half-written image; each rename is
# atomic, so a reader sees the old image or the new one, never a part.
tmp_out=$(mktemp "$(dirname "$out")/.$(basename "$out").XXXXXX")
tmp_manifest=$(mktemp "$(dirname "$manifest")/.$(basename "$manifest").XXXXXX")
trap 'rm -rf "$stage"; rm -f "$tmp_out" "$tmp_manifest"' EXIT
(cd "$root" && find . -mindepth 1 -print0 | sort -z |
  cpio --null --create --format=newc --reproducible --owner=0:0 --quiet) |
  gzip -9 -n >"$tmp_out"
chmod 0644 "$tmp_out"
mv -f "$tmp_out" "$out"

{
  printf 'inputs %s\n' "$digest"
  printf 'initramfs %s %s\n' "$(sha256sum <"$out" | cut -d' ' -f1)" "$out"
  printf 'kernel %s\n' "$krel"
  printf 'agent %s %s\n' "$(sha256sum <"$agent" | cut -d' ' -f1)" "$agent"
  printf 'busybox %s %s\n' "$(sha256sum <"$busybox" | cut -d' ' -f1)" "$busybox"
  printf 'source_date_epoch %s\n' "$epoch"
  for m in "${mod_order[@]}"; do printf 'module %s\n' "$m"; done
} >"$tmp_manifest"
chmod 0644 "$tmp_manifest"
mv -f "$tmp_manifest" "$manifest"
say "wrote $out ($(du -h "$out" | cut -f1))"
emit
