# Shared by the guest halves of the network VM tests (busybox sh). Each
# check prints "CHECK <name> ok" or "CHECK <name> FAIL <why>"; the host half
# fails the test unless every expected check says ok.
ok() { echo "CHECK $1 ok"; }
bad() {
  name=$1
  shift
  echo "CHECK $name FAIL $*"
}
now_cs() { tr -d . </proc/uptime | cut -d' ' -f1; }  # centiseconds since boot
# refused NAME ADDRESS PORT: the connection must fail, and within 1 s.
refused() {
  t0=$(now_cs)
  if nc -w 5 "$2" "$3" </dev/null >/dev/null 2>&1; then
    bad "$1" "connected to $2:$3"
    return
  fi
  ms=$((($(now_cs) - t0) * 10))
  if [ "$ms" -le 1000 ]; then ok "$1"; else bad "$1" "refusal took ${ms} ms"; fi
  echo "refused $2:$3 in ${ms} ms"
}
