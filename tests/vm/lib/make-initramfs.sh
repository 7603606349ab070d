#!/usr/bin/env bash
# Builds a small, reproducible busybox initramfs (newc cpio) for test VMs.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  cat <<EOF
Usage: $prog -o OUT --init FILE [options]

Creates a newc cpio archive containing:
  /init                     FILE (script or static binary), mode 0755
  /bin/busybox + links      every applet of a static busybox
  /dev /proc /sys /tmp /run /mnt /root /etc   empty directories
  /lib/modules/*.ko         with --modules-tree/--module: the modules and
  /lib/modules/load-order   their dependencies, file names in insmod order
  extra files               --file SRC[:DEST]

The archive is deterministic: entries sorted, owner 0:0, fixed mtime
(SOURCE_DATE_EPOCH or 0), modes normalised, cpio --reproducible. The same
inputs give the same bytes, so the output can be cached by content.

/dev is empty: the kernel cannot open /dev/console before /init runs, so
/init should first mount devtmpfs on /dev and then redirect to /dev/console
(see tests/vm/boot-qemu-microvm/init.sh). This keeps the build free of
mknod, i.e. it works without root.

Options:
  -o, --output OUT      archive to write (written atomically)
  --init FILE           the /init program
  --busybox PATH        static busybox (default: busybox on PATH)
  --no-busybox          leave busybox out (for an /init that is a static binary
                        needing no shell)
  --file SRC[:DEST]     add SRC at DEST (default /SRC-basename); repeatable;
                        a directory is added recursively
  --modules-tree DIR    lib/modules/<krel> directory to take modules from
  --module NAME         add module NAME and its dependencies; repeatable
  --gzip                gzip -9n the archive (default: uncompressed, which
                        the kernel unpacks fastest)
  -h, --help            this text
EOF
}

die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }

out="" init="" busybox="" with_busybox=1 gzip=0 mtree=""
files=() modules=()
while (($#)); do
  case $1 in
    -o|--output) out=${2:?}; shift 2 ;;
    --init) init=${2:?}; shift 2 ;;
    --busybox) busybox=${2:?}; shift 2 ;;
    --no-busybox) with_busybox=0; shift ;;
    --file) files+=("${2:?}"); shift 2 ;;
    --modules-tree) mtree=${2:?}; shift 2 ;;
    --module) modules+=("${2:?}"); shift 2 ;;
    --gzip) gzip=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) printf '%s: unknown argument: %s\n' "$prog" "$1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -n $out ]] || { usage >&2; exit 2; }
[[ -n $init ]] || { usage >&2; exit 2; }
[[ -f $init ]] || die "init program not found: $init"
if ((${#modules[@]})) && [[ -z $mtree ]]; then
  die "--module needs --modules-tree"
fi
command -v cpio >/dev/null || die "cpio not found (install cpio)"

if ((with_busybox)); then
  if [[ -z $busybox ]]; then
    busybox=$(command -v busybox || true)
    [[ -n $busybox ]] || die "busybox not found (install busybox-static)"
  fi
  [[ -x $busybox ]] || die "busybox not executable: $busybox"
  # A dynamic busybox would need a libc in the image; fail here rather than
  # with an unexplained "init not found" kernel panic.
  ldd_out=$(LC_ALL=C ldd "$busybox" 2>&1 || true)
  if [[ $ldd_out == *'=>'* ]]; then
    die "$busybox is dynamically linked; install busybox-static"
  fi
fi

# Inside scripts/vmtest.sh's L1, TMPDIR is a 9p share where each of the
# ~600 file operations below is an emulated round trip; /tmp there is tmpfs.
stage_parent=${TMPDIR:-/tmp}
[[ ${VOIDBOX_VMTEST_INSIDE:-} == nested ]] && stage_parent=/tmp
stage=$(mktemp -d "$stage_parent/make-initramfs.XXXXXX")
tmp_out=""
cleanup() {
  rm -rf -- "$stage"
  [[ -z $tmp_out ]] || rm -f -- "$tmp_out" "$tmp_out.cpio"
}
trap cleanup EXIT

mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,mnt,root,etc,lib/modules}
cp -- "$init" "$stage/init"
chmod 0755 "$stage/init"

if ((with_busybox)); then
  cp -- "$busybox" "$stage/bin/busybox"
  applets=()
  while IFS= read -r applet; do
    [[ -n $applet && $applet != bin/busybox ]] && applets+=("$stage/$applet")
  done < <("$busybox" --list-full)
  # One process for ~270 links: inside the emulated L1 of scripts/vmtest.sh
  # every fork+exec costs tens of milliseconds. perl-base is Essential on
  # Debian; elsewhere fall back to ln.
  if command -v perl >/dev/null; then
    perl -e 'use File::Path qw(make_path); use File::Basename qw(dirname);
      for (@ARGV) { next if -e $_ || -l $_; make_path(dirname($_));
        symlink("/bin/busybox", $_) or die "symlink $_: $!\n" }' "${applets[@]}"
  else
    for link in "${applets[@]}"; do
      [[ -e $link || -L $link ]] && continue
      [[ -d ${link%/*} ]] || mkdir -p "${link%/*}"
      ln -s /bin/busybox "$link"
    done
  fi
fi

for spec in "${files[@]}"; do
  src=${spec%%:*}
  if [[ $spec == *:* ]]; then dest=${spec#*:}; else dest=/$(basename "$src"); fi
  [[ -e $src ]] || die "--file source not found: $src"
  [[ $dest == /* ]] || die "--file destination must be absolute: $dest"
  mkdir -p "$stage$(dirname "$dest")"
  cp -R -L -- "$src" "$stage$dest"
done

if ((${#modules[@]})); then
  # shellcheck source-path=SCRIPTDIR source=modules.sh
  source "$here/modules.sh"
  closure=$(vb_module_closure "$mtree" "${modules[@]}") || die "cannot resolve modules: ${modules[*]}"
  : >"$stage/lib/modules/load-order"
  while IFS= read -r ko; do
    [[ -n $ko ]] || continue
    base=${ko##*/}
    [[ -e $stage/lib/modules/$base ]] && die "two modules named $base"
    cp -- "$ko" "$stage/lib/modules/$base"
    printf '%s\n' "$base" >>"$stage/lib/modules/load-order"
  done <<<"$closure"
fi

# Normalise everything that could differ between two builds of the same inputs.
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f -perm /0111 -exec chmod 0755 {} +
find "$stage" -type f ! -perm /0111 -exec chmod 0644 {} +
mtime=${SOURCE_DATE_EPOCH:-0}
find "$stage" -exec touch -h -d "@$mtime" {} +

mkdir -p "$(dirname "$out")"
tmp_out=$(mktemp "$out.tmp.XXXXXX")
(
  cd "$stage"
  find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
    cpio --quiet --reproducible -o -H newc -R 0:0
) >"$tmp_out.cpio"
if ((gzip)); then
  gzip -9 -n -c "$tmp_out.cpio" >"$tmp_out"
  rm -f -- "$tmp_out.cpio"
else
  mv -f -- "$tmp_out.cpio" "$tmp_out"
fi
chmod 0644 "$tmp_out"
mv -f -- "$tmp_out" "$out"
tmp_out=""
