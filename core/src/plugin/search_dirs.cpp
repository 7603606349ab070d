// Where plugins are looked for; the order and its reasons are documented in
// voidbox/plugin/registry.hpp.
#include <boost/dll/runtime_symbol_info.hpp>
#include <cstdlib>
#include <string_view>
#include <system_error>

#include "voidbox/plugin/registry.hpp"

namespace voidbox::plugin {
namespace {

namespace fs = std::filesystem;

// The directory holding libvoidbox itself, so an installed tree finds its
// plugins wherever it was unpacked.
fs::path own_libdir() {
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

std::vector<SearchDir> default_search_dirs() {
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
  const fs::path build_libdir = build_plugins.parent_path().parent_path();
  const fs::path libdir = own_libdir();
  const bool from_build_tree = !libdir.empty() && same_dir(libdir, build_libdir);

  if (!from_build_tree) {
    if (!libdir.empty()) add(libdir / "voidbox" / "plugins", "install");
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
