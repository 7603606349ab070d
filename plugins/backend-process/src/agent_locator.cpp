#include "agent_locator.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace voidbox::process_backend {
namespace {

namespace fs = std::filesystem;
constexpr const char* kAgentName = "voidbox-guest-agent";

bool is_executable(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

fs::path plugin_dir() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&locate_guest_agent), &info) == 0 ||
      info.dli_fname == nullptr) {
    return {};
  }
  std::error_code ec;
  fs::path p = fs::canonical(info.dli_fname, ec);
  return ec ? fs::path{} : p.parent_path();
}

fs::path executable_dir() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path{} : p.parent_path();
}

}  // namespace

AgentSearch locate_guest_agent() {
  AgentSearch search;
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("VOIDBOX_GUEST_AGENT"); env != nullptr && *env != '\0') {
    candidates.emplace_back(env);
  }
  if (fs::path dir = plugin_dir(); !dir.empty()) {
    // <prefix>/lib/voidbox/plugins -> <prefix>
    fs::path prefix = dir.parent_path().parent_path().parent_path();
    candidates.push_back(dir / kAgentName);
    candidates.push_back(prefix / "bin" / kAgentName);
    candidates.push_back(prefix / "libexec" / "voidbox" / kAgentName);
  }
  if (fs::path dir = executable_dir(); !dir.empty()) {
    candidates.push_back(dir / kAgentName);
    candidates.push_back(dir.parent_path() / "libexec" / "voidbox" / kAgentName);
  }
  if (const char* build = std::getenv("VOIDBOX_BUILD_DIR"); build != nullptr && *build != '\0') {
    candidates.push_back(fs::path(build) / "bin" / kAgentName);
  }
  for (const auto& c : candidates) {
    search.tried.push_back(c.string());
    if (is_executable(c)) {
      search.found = c.string();
      break;
    }
  }
  return search;
}

}  // namespace voidbox::process_backend
