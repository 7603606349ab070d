#!/usr/bin/env bash
# Checks tests/vm/lib/make-initramfs.sh: byte-identical output for identical
# inputs, the advertised layout, and modules in dependency order (on fake
# modules carrying only a .modinfo section, which is all modinfo reads).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
mk=$here/../lib/make-initramfs.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/check-mkinitramfs.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for tool in busybox cpio gcc objcopy modinfo; do
  command -v "$tool" >/dev/null || fail "$tool not installed"
done

# Fake module tree: z needs y and x, y needs x; named with - and _ mixed.
tree=$work/modules
mkdir -p "$tree/kernel/sub"
echo 'int x;' >"$work/e.c"
gcc -c "$work/e.c" -o "$work/e.o"
fake_module() { # file name depends
  printf 'name=%s\0depends=%s\0license=GPL\0' "$2" "$3" >"$work/modinfo"
  objcopy --add-section .modinfo="$work/modinfo" "$work/e.o" "$tree/kernel/$1"
}
fake_module sub/mod-x.ko mod_x ""
fake_module mod_y.ko mod_y mod_x
fake_module sub/mod-z.ko mod_z mod_y,mod_x
printf 'kernel/fs/builtin-fs.ko\n' >"$tree/modules.builtin"

printf '#!/bin/sh\necho init\n' >"$work/init"
printf 'payload\n' >"$work/extra.txt"
build() {
  "$mk" -o "$1" --init "$work/init" --file "$work/extra.txt:/etc/extra.txt" \
    --modules-tree "$tree" --module mod-z --module builtin_fs "${@:2}"
}
build "$work/a.cpio"
touch "$work/init" "$work/extra.txt" # new mtimes must not matter
sleep 1
build "$work/b.cpio"
cmp -s "$work/a.cpio" "$work/b.cpio" || fail "two builds of the same inputs differ"

mkdir "$work/x"
(cd "$work/x" && cpio --quiet -id <"$work/a.cpio")
[[ -x $work/x/init ]] || fail "/init missing or not executable"
[[ -x $work/x/bin/busybox ]] || fail "/bin/busybox missing"
[[ $(readlink "$work/x/bin/sh") == /bin/busybox ]] || fail "/bin/sh is not a busybox link"
[[ $(cat "$work/x/etc/extra.txt") == payload ]] || fail "--file not placed at /etc/extra.txt"
for d in dev proc sys tmp; do [[ -d $work/x/$d ]] || fail "/$d missing"; done
order=$(tr '\n' ' ' <"$work/x/lib/modules/load-order")
[[ $order == "mod-x.ko mod_y.ko mod-z.ko " ]] || fail "load-order is '$order'"
listing=$(cpio --quiet -itv <"$work/a.cpio")
grep -qv ' root *root ' <<<"$listing" && fail "an entry is not owned by root:root"
[[ $(awk '{print $6, $7, $8}' <<<"$listing" | sort -u) == "Jan 1 1970" ]] ||
  fail "mtimes are not all the epoch"
sorted=$(cpio --quiet -it <"$work/a.cpio")
[[ $sorted == "$(LC_ALL=C sort <<<"$sorted")" ]] || fail "entries are not sorted"

build "$work/c.cpio.gz" --gzip
gzip -dc "$work/c.cpio.gz" | cmp -s - "$work/a.cpio" || fail "--gzip output differs from the plain archive"

if "$mk" -o "$work/d.cpio" --init "$work/init" --modules-tree "$tree" --module no-such 2>"$work/err"; then
  fail "an unknown module was accepted"
fi
grep -q 'no-such\|no_such' "$work/err" || fail "unknown-module error does not name it"
[[ ! -e $work/d.cpio ]] || fail "a failed build left an output file"
echo PASS
