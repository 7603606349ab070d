# shellcheck shell=bash
# Kernel-module helpers for building test initramfs images. Source this file.
#
# vb_module_closure TREE NAME...
#   Prints, one per line, the .ko paths under TREE (a lib/modules/<krel> dir)
#   needed to load NAME... in a valid insmod order: every module comes after
#   the modules its `depends=` field names (read with `modinfo -F depends`,
#   the same source the kernel's modprobe uses). Names may use - or _.
#   A name that is built into the kernel (modules.builtin) is skipped; a name
#   that is neither a module nor built in is an error (status 1).

# Sets REPLY (no subshell: this runs once per module in the tree).
_vb_modname() { REPLY=${1##*/}; REPLY=${REPLY%%.ko*}; REPLY=${REPLY//-/_}; }

vb_module_closure() {
  local tree=$1
  shift
  if [[ ! -d $tree ]]; then
    printf 'vb_module_closure: no module tree at %s\n' "$tree" >&2
    return 1
  fi
  if ! command -v modinfo >/dev/null && [[ ! -x /sbin/modinfo ]]; then
    printf 'vb_module_closure: modinfo not found (install kmod)\n' >&2
    return 1
  fi
  local modinfo_bin
  modinfo_bin=$(command -v modinfo || echo /sbin/modinfo)

  local -A path_of=() builtin=() state=()
  local f REPLY
  while IFS= read -r -d '' f; do
    _vb_modname "$f"
    path_of[$REPLY]=$f
  done < <(find "$tree" -type f -name '*.ko' -print0)
  if [[ -f $tree/modules.builtin ]]; then
    while IFS= read -r f; do
      [[ -n $f ]] || continue
      _vb_modname "$f"
      builtin[$REPLY]=1
    done <"$tree/modules.builtin"
  fi

  local -a order=()
  # Iterative DFS would be longer; recursion depth is the dependency depth
  # (under 10 for anything a test needs).
  _vb_visit() {
    local name REPLY
    _vb_modname "$1"
    name=$REPLY
    case ${state[$name]:-} in
      loaded) return 0 ;;
      active)
        printf 'vb_module_closure: dependency cycle at %s\n' "$name" >&2
        return 1 ;;
    esac
    if [[ -z ${path_of[$name]:-} ]]; then
      if [[ -n ${builtin[$name]:-} ]]; then
        state[$name]=loaded
        return 0
      fi
      printf 'vb_module_closure: module %s not found under %s\n' "$name" "$tree" >&2
      return 1
    fi
    state[$name]=active
    local deps dep
    deps=$("$modinfo_bin" -F depends "${path_of[$name]}") || {
      printf 'vb_module_closure: modinfo failed on %s\n' "${path_of[$name]}" >&2
      return 1
    }
    local IFS=,
    for dep in $deps; do
      [[ -n $dep ]] || continue
      _vb_visit "$dep" || return 1
    done
    state[$name]=loaded
    order+=("${path_of[$name]}")
  }

  local want
  for want in "$@"; do
    _vb_visit "$want" || return 1
  done
  ((${#order[@]} == 0)) || printf '%s\n' "${order[@]}"
}
