#!/usr/bin/env bash
# Fetches a stock Debian kernel (vmlinuz + modules) into the VoidBox cache.
#
# Prints machine-readable KEY=VALUE lines on stdout; everything else goes to
# stderr, so callers can `eval "$(scripts/fetch-kernel.sh)"` or grep a key.
set -euo pipefail

prog=${0##*/}

usage() {
  cat <<EOF
Usage: $prog [--version KREL] [--offline] [--refresh] [--quiet]

Downloads Debian's linux-image-amd64 (resolved to the versioned
linux-image-<KREL> package it depends on) with apt-get download, which checks
the package against apt's signed index, and extracts it into

  \${XDG_CACHE_HOME:-\$HOME/.cache}/voidbox/kernels/<KREL>/
    vmlinuz  vmlinux  System.map  config  package.txt
    modules/lib/modules/<KREL>/...   (modules.dep generated with depmod)

vmlinux is the uncompressed ELF inside vmlinuz. Debian builds with CONFIG_PVH,
so QEMU (and an ELF-loading VMM) can enter it directly, skipping the
decompressor: under QEMU's TCG that saves about 4 seconds per boot.

A cached kernel is reused without touching apt or the network. Compressed
modules (.ko.xz, .ko.zst, .ko.gz, used by Debian after bookworm) are
decompressed to plain .ko so that busybox insmod and finit_module() take them
as they are.

Options:
  --version KREL  use this kernel release (e.g. 6.1.0-56-amd64) instead of the
                  one linux-image-amd64 points to (env: VOIDBOX_KERNEL_VERSION)
  --offline       never call apt; use the requested or newest cached kernel
  --refresh       download and extract again even if cached
  --quiet         no progress messages on stderr
  -h, --help      this text

Output (stdout):
  VERSION=<KREL>  KERNEL_DIR=<dir>  VMLINUZ=<file>  VMLINUX=<file>
  SYSTEM_MAP=<file>
  CONFIG=<file>   MODULES=<dir>/modules/lib/modules/<KREL>
  MODULES_ROOT=<dir>/modules   (for depmod -b / modprobe -d)

Exit status: 0 on success, 1 on failure, 2 on bad usage.
EOF
}

say() { ((quiet)) || printf '%s: %s\n' "$prog" "$*" >&2; }
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }

want_version=${VOIDBOX_KERNEL_VERSION:-}
offline=0
refresh=0
quiet=0
while (($#)); do
  case $1 in
    --version) (($# >= 2)) || { usage >&2; exit 2; }; want_version=$2; shift 2 ;;
    --version=*) want_version=${1#*=}; shift ;;
    --offline) offline=1; shift ;;
    --refresh) refresh=1; shift ;;
    --quiet) quiet=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) printf '%s: unknown argument: %s\n' "$prog" "$1" >&2; usage >&2; exit 2 ;;
  esac
done

cache_root=${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/voidbox
kernels=$cache_root/kernels
mkdir -p "$kernels"

# A complete cache entry always has package.txt: it is written last, before
# the directory is renamed into place.
is_complete() { [[ -f $kernels/$1/package.txt && -f $kernels/$1/vmlinuz && -f $kernels/$1/vmlinux ]]; }

emit() {
  local krel=$1 dir=$kernels/$1
  printf 'VERSION=%s\n' "$krel"
  printf 'KERNEL_DIR=%s\n' "$dir"
  printf 'VMLINUZ=%s\n' "$dir/vmlinuz"
  printf 'VMLINUX=%s\n' "$dir/vmlinux"
  printf 'SYSTEM_MAP=%s\n' "$dir/System.map"
  printf 'CONFIG=%s\n' "$dir/config"
  printf 'MODULES=%s\n' "$dir/modules/lib/modules/$krel"
  printf 'MODULES_ROOT=%s\n' "$dir/modules"
}

newest_cached() {
  local d best=""
  for d in "$kernels"/*/; do
    d=${d%/}; d=${d##*/}
    [[ $d == .* ]] && continue
    is_complete "$d" || continue
    best+="$d"$'\n'
  done
  [[ -n $best ]] || return 1
  printf '%s' "$best" | sort -V | tail -n 1
}

pinned=0
[[ -n $want_version ]] && pinned=1

# Fast path: a pinned version that is already cached needs nothing else.
if [[ -n $want_version ]] && ((!refresh)) && is_complete "$want_version"; then
  emit "$want_version"
  exit 0
fi

if ((offline)); then
  if [[ -n $want_version ]]; then
    die "kernel $want_version is not in $kernels and --offline was given; run $prog --version $want_version once with access to Debian's archive"
  fi
  krel=$(newest_cached) || die "no kernel cached in $kernels and --offline was given; run $prog once with access to Debian's archive"
  emit "$krel"
  exit 0
fi

if ! command -v apt-cache >/dev/null || ! command -v apt-get >/dev/null; then
  die "apt-get/apt-cache not found; this script needs a Debian-based host (or a cached kernel: --offline)"
fi

# Resolve the metapackage through apt's local index only (no network). That
# costs most of a second without apt's binary cache, so the answer is memoised
# until apt's lists directory changes (apt-get update renames files into it).
memo=$kernels/.resolved-linux-image-amd64
lists_dir=/var/lib/apt/lists
resolve_latest() {
  local deps krel
  if [[ -s $memo && -d $lists_dir && $memo -nt $lists_dir ]]; then
    cat "$memo"
    return 0
  fi
  deps=$(apt-cache show --no-all-versions linux-image-amd64 2>/dev/null | sed -n 's/^Depends: //p' | head -n 1) || true
  [[ -n $deps ]] || return 1
  # "linux-image-6.1.0-56-amd64 (= 6.1.192-2)" or a list: take the first image.
  [[ $deps =~ linux-image-([0-9][^ ,|\(\)]*) ]] || return 1
  krel=${BASH_REMATCH[1]}
  # A unique name, not $$: two VM-test L1s share the cache and can have
  # the same PID. The memo is only a shortcut, so failing to keep it is fine.
  local tmp
  if tmp=$(mktemp "$memo.XXXXXX" 2>/dev/null); then
    if printf '%s\n' "$krel" >"$tmp" && chmod 0644 "$tmp" && mv -f "$tmp" "$memo"; then :; else rm -f "$tmp"; fi
  fi
  printf '%s\n' "$krel"
}

if [[ -z $want_version ]]; then
  if ! want_version=$(resolve_latest) || [[ -z $want_version ]]; then
    if krel=$(newest_cached); then
      say "warning: apt does not know linux-image-amd64 (run apt-get update?); using cached $krel"
      emit "$krel"
      exit 0
    fi
    die "apt does not know linux-image-amd64; run 'apt-get update' (Debian's main archive must be in sources.list)"
  fi
  if ((!refresh)) && is_complete "$want_version"; then
    emit "$want_version"
    exit 0
  fi
fi
krel=$want_version
[[ $krel =~ ^[A-Za-z0-9][A-Za-z0-9.+_-]*$ ]] || die "bad kernel release name: $krel"
pkg=linux-image-$krel

# Serialise concurrent fetches (parallel test runs) on the same cache.
exec 9>"$kernels/.lock"
flock 9
# Leftovers of runs killed with SIGKILL (no trap ran); never a live run's, as
# those hold the lock for minutes, not a day.
find "$kernels" -maxdepth 1 -name '.tmp.*' -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
if ((!refresh)) && is_complete "$krel"; then
  emit "$krel"
  exit 0
fi

work=$(mktemp -d "$kernels/.tmp.$krel.XXXXXX")
cleanup() { rm -rf -- "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

say "downloading $pkg from Debian's archive"
mkdir "$work/deb"
apt_opts=(-q)
# As root, apt drops to the _apt user for downloads, which cannot write into
# our private temp dir; downloading as root avoids a noisy fallback warning.
(($(id -u) == 0)) && apt_opts+=(-o APT::Sandbox::User=root)
if ! (cd "$work/deb" && apt-get "${apt_opts[@]}" download "$pkg" </dev/null >&2); then
  # Only an unpinned request may settle for another cached kernel.
  if ((!pinned)) && fallback=$(newest_cached); then
    say "warning: download of $pkg failed; using cached $fallback"
    emit "$fallback"
    exit 0
  fi
  die "apt-get download $pkg failed (no network or not in the index?)"
fi
deb=$(find "$work/deb" -maxdepth 1 -name '*.deb' -print -quit)
[[ -n $deb ]] || die "apt-get download produced no .deb"

say "extracting $(basename "$deb")"
dpkg-deb -x "$deb" "$work/x"

entry=$work/entry
mkdir -p "$entry/modules/lib/modules"
vmlinuz=$(find "$work/x/boot" -maxdepth 1 -name "vmlinuz-$krel" -print -quit 2>/dev/null || true)
[[ -n $vmlinuz ]] || die "$pkg has no /boot/vmlinuz-$krel"
mv "$vmlinuz" "$entry/vmlinuz"
[[ -f $work/x/boot/System.map-$krel ]] && mv "$work/x/boot/System.map-$krel" "$entry/System.map"
[[ -f $work/x/boot/config-$krel ]] && mv "$work/x/boot/config-$krel" "$entry/config"

# The bzImage header (Documentation/x86/boot.rst) locates the compressed
# payload: it starts payload_offset (0x248) bytes after the setup sectors
# (setup_sects at 0x1f1, plus the boot sector) and is payload_length (0x24c)
# long, the last 4 bytes being the decompressed size rather than stream data.
extract_vmlinux() {
  local in=$1 out=$2 setup_sects poff plen magic
  setup_sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$in" | tr -d ' ')
  poff=$(od -An -tu4 -j $((0x248)) -N4 "$in" | tr -d ' ')
  plen=$(od -An -tu4 -j $((0x24c)) -N4 "$in" | tr -d ' ')
  ((setup_sects == 0)) && setup_sects=4
  local start=$(((setup_sects + 1) * 512 + poff))
  # dd reads exactly the range; tail|head would die of SIGPIPE under pipefail.
  slice() { dd if="$in" bs=1M iflag=skip_bytes,count_bytes skip="$1" count="$2" status=none; }
  magic=$(slice "$start" 6 | od -An -tx1 | tr -d ' \n')
  local -a dec
  case $magic in
    fd377a585a00) dec=(xz -dc) ;;
    1f8b*) dec=(gzip -dc) ;;
    28b52ffd*) dec=(zstd -q -dc) ;;
    *) say "warning: unknown kernel compression (magic $magic); no vmlinux"; return 1 ;;
  esac
  slice "$start" $((plen - 4)) | "${dec[@]}" >"$out" || return 1
  [[ $(head -c 4 "$out" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]] || return 1
}
extract_vmlinux "$entry/vmlinuz" "$entry/vmlinux" || die "cannot extract vmlinux from vmlinuz-$krel"

# Debian moved /lib to /usr/lib (merged /usr) in newer packages; accept both.
moddir=""
for cand in "$work/x/lib/modules/$krel" "$work/x/usr/lib/modules/$krel"; do
  [[ -d $cand ]] && { moddir=$cand; break; }
done
[[ -n $moddir ]] || die "$pkg has no lib/modules/$krel"
mv "$moddir" "$entry/modules/lib/modules/$krel"

ncomp=0
while IFS= read -r -d '' f; do
  case $f in
    *.ko.xz) xz -dc -- "$f" >"${f%.xz}" ;;
    *.ko.zst) zstd -q -dc -- "$f" >"${f%.zst}" ;;
    *.ko.gz) gzip -dc -- "$f" >"${f%.gz}" ;;
  esac
  rm -f -- "$f"
  ncomp=$((ncomp + 1))
done < <(find "$entry/modules" -type f \( -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' \) -print0)
((ncomp == 0)) || say "decompressed $ncomp modules"

# The package ships no modules.dep (its postinst runs depmod); make one so
# modprobe -d and dependency lookups work against the cache.
if command -v depmod >/dev/null; then
  depmod -b "$entry/modules" "$krel" ||
    say "warning: depmod failed; modules.dep missing (use modinfo -F depends)"
elif [[ -x /sbin/depmod ]]; then
  /sbin/depmod -b "$entry/modules" "$krel" || say "warning: depmod failed"
else
  say "warning: depmod (kmod) not installed; modules.dep not generated"
fi

{
  printf 'package=%s\n' "$pkg"
  printf 'package_version=%s\n' "$(dpkg-deb -f "$deb" Version)"
  printf 'deb_sha256=%s\n' "$(sha256sum "$deb" | cut -d' ' -f1)"
  printf 'kernel_release=%s\n' "$krel"
  printf 'decompressed_modules=%s\n' "$ncomp"
} >"$entry/package.txt"

# Publish atomically: the cache entry appears complete or not at all.
final=$kernels/$krel
if [[ -e $final ]]; then
  mv -T "$final" "$work/old"
fi
mv -T "$entry" "$final"
say "cached $krel in $final"
emit "$krel"
