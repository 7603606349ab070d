// Where plugins are looked for; the order and its reasons are documented in
// voidbox/plugin/loader.hpp.
#include <boost/dll/runtime_symbol_info.hpp>
#include <cstdlib>
#include <string_view>
#include <system_error>

#include "voidbox/plugin/loader.hpp"

namespace voidbox::plugin {
namespace {

namespace fs = std::filesystem;

// The directory of the module (libvoidbox, voidbox-vmm) this code is linked
// into, so an installed tree finds its plugins wherever it was unpacked.
fs::path own_dir() {
  boost::dll::fs::error_code ec;
  auto location = boost::dll::this_line_location(ec);
  if (ec) return {};
  return fs::path(location.parent_path().string());
}

bool same_dir(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return fs::equivalent(a, b, ec) && !ec;
}

}  // namespace

std::vector<SearchDir> default_search_dirs(const fs::path& installed_from_module) {
  std::vector<SearchDir> dirs;
  auto add = [&](fs::path path, const char* origin) {
    if (path.empty()) return;
    std::error_code ec;
    path = fs::weakly_canonical(fs::absolute(path, ec), ec);
    if (ec) return;
    for (const auto& known : dirs) {
      if (known.path == path) return;
    }
    dirs.push_back({std::move(path), origin});
  };

  const fs::path build_plugins = VOIDBOX_PLUGIN_BUILD_DIR;
  // Every module of the build tree sits one level below it: lib/, bin/, tests/.
  const fs::path module_dir = own_dir();
  const bool from_build_tree =
      !module_dir.empty() && same_dir(module_dir.parent_path(), VOIDBOX_BUILD_ROOT);

  if (!from_build_tree) {
    if (!module_dir.empty()) add(module_dir / installed_from_module, "install");
    add(VOIDBOX_PLUGIN_INSTALL_DIR, "install");
  }
  if (const char* env = std::getenv("VOIDBOX_PLUGIN_PATH")) {
    std::string_view rest = env;
    while (!rest.empty()) {
      auto colon = rest.find(':');
      std::string_view part = rest.substr(0, colon);
      add(fs::path(std::string(part)), "env");
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    }
  }
  if (from_build_tree) add(build_plugins, "build");
  return dirs;
}

}  // namespace voidbox::plugin
