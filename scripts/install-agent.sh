#!/usr/bin/env bash
# Installs a coding agent's npm package into the shared cache and prints the
# path of its native executable:
#   scripts/install-agent.sh claude   # @anthropic-ai/claude-code + -linux-x64
#   scripts/install-agent.sh codex    # @openai/codex
#   scripts/install-agent.sh --print claude   # only print; fail if not installed
# The cache is ~/.cache/voidbox/npm/<agent>-<version>, one directory per
# pinned version, so a new pin installs beside the old one and nothing is
# overwritten in place. Install scripts are skipped: the native package is
# the whole agent, and its wrapper's postinstall only links it.
set -euo pipefail

claude_version=${VOIDBOX_CLAUDE_CODE_VERSION:-2.1.332}
codex_version=${VOIDBOX_CODEX_VERSION:-0.171.0}
cache=${VOIDBOX_CACHE_DIR:-$HOME/.cache/voidbox}/npm

print_only=0
if [[ ${1:-} == --print ]]; then
  print_only=1
  shift
fi
agent=${1:?usage: install-agent.sh [--print] claude|codex}

case $agent in
  claude)
    version=$claude_version
    packages=("@anthropic-ai/claude-code@$version" "@anthropic-ai/claude-code-linux-x64@$version")
    relative=node_modules/@anthropic-ai/claude-code-linux-x64/claude
    ;;
  codex)
    version=$codex_version
    packages=("@openai/codex@$version")
    relative=
    ;;
  *)
    echo "install-agent.sh: unknown agent '$agent' (claude or codex)" >&2
    exit 2
    ;;
esac

dir=$cache/$agent-$version

# codex ships its native binary under a platform folder whose name carries
# the target triple; find it rather than hard-coding the layout.
find_binary() {
  if [[ -n $relative ]]; then
    [[ -x $dir/$relative ]] && echo "$dir/$relative"
    return 0
  fi
  [[ -d $dir/node_modules ]] || return 0
  find "$dir/node_modules" -type f -name codex -perm -u+x -path '*linux*x86_64*' 2>/dev/null | head -1 || true
}

binary=$(find_binary)
if [[ -n $binary ]]; then
  echo "$binary"
  exit 0
fi
if ((print_only)); then
  echo "install-agent.sh: $agent $version is not installed in $dir (run scripts/install-agent.sh $agent)" >&2
  exit 1
fi

command -v npm >/dev/null || {
  echo "install-agent.sh: npm not found: apt-get install nodejs npm" >&2
  exit 1
}
mkdir -p "$cache"
staging=$(mktemp -d "$cache/.$agent-$version.XXXXXX")
trap 'rm -rf "$staging"' EXIT
echo "install-agent.sh: installing ${packages[*]} into $dir" >&2
npm install --prefix "$staging" --no-audit --no-fund --no-save --ignore-scripts --loglevel=error \
  --cpu=x64 --os=linux "${packages[@]}" </dev/null >&2
# Publishing the directory in one rename keeps a half-installed copy from
# ever being found by another caller.
if ! mv -T "$staging" "$dir" 2>/dev/null; then
  [[ -d $dir ]] || { echo "install-agent.sh: could not create $dir" >&2; exit 1; }
fi
trap - EXIT
rm -rf "$staging"
binary=$(find_binary)
[[ -n $binary ]] || { echo "install-agent.sh: no $agent executable in $dir" >&2; exit 1; }
echo "$binary"
