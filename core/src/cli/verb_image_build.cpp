// `voidbox image build claude|codex`: runs scripts/build-agent-disk.sh, which
// installs the agent from npm and packs it with its libraries into a cached,
// read-only ext4 disk, and prints the disk's path.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <ostream>

#include "cli/image_build.hpp"

extern char** environ;

namespace voidbox::cli {

namespace {

// The script beside an installed voidbox (share/voidbox/scripts) or in the
// source tree this binary was built from; VOIDBOX_AGENT_DISK_SCRIPT wins.
std::filesystem::path disk_script() {
  if (const char* env = std::getenv("VOIDBOX_AGENT_DISK_SCRIPT")) return env;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto installed =
        exe.parent_path().parent_path() / "share/voidbox/scripts/build-agent-disk.sh";
    if (std::filesystem::exists(installed)) return installed;
  }
  return std::filesystem::path(VOIDBOX_SOURCE_DIR) / "scripts/build-agent-disk.sh";
}

}  // namespace

int cmd_image_build(VerbContext& ctx, const std::vector<std::string>& args) {
  if (args.size() != 1 || (args[0] != "claude" && args[0] != "codex")) {
    if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
      ctx.out << "usage: voidbox image build claude|codex\n\n"
                 "Installs the agent's npm package and builds its read-only ext4 agent disk\n"
                 "(cached by version under ~/.cache/voidbox/agents), then prints its path.\n";
      return kExitOk;
    }
    ctx.err << "usage: voidbox image build claude|codex\n";
    return kExitUsage;
  }
  const std::filesystem::path script = disk_script();
  if (!std::filesystem::exists(script)) {
    ctx.err << "voidbox image build: " << script.string() << " not found\n";
    return kExitFailure;
  }
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ctx.err << "voidbox image build: pipe failed\n";
    return kExitFailure;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  const std::string script_path = script.string();
  char* argv[] = {const_cast<char*>("bash"), const_cast<char*>(script_path.c_str()),
                  const_cast<char*>(args[0].c_str()), nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, "bash", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    ctx.err << "voidbox image build: cannot run bash\n";
    return kExitFailure;
  }
  // The script prints only the disk's path on stdout; its progress goes to stderr.
  std::string printed;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (printed.size() < 64u << 10) printed.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ctx.err << "voidbox image build: " << script_path << " failed\n";
    return kExitFailure;
  }
  while (!printed.empty() && (printed.back() == '\n' || printed.back() == '\r')) printed.pop_back();
  const std::string path = printed.substr(printed.rfind('\n') + 1);
  if (ctx.global.output == OutputFormat::json) {
    ctx.out << boost::json::serialize(boost::json::object{{"agent", args[0]}, {"path", path}})
            << "\n";
  } else {
    ctx.out << path << "\n";
  }
  return kExitOk;
}

}  // namespace voidbox::cli
