#include "runtime/state_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace voidbox::runtime {
namespace fs = std::filesystem;

std::expected<StateDir, std::string> StateDir::create(const std::string& label,
                                                      const std::optional<fs::path>& root) {
  fs::path base;
  if (root) {
    base = *root;
  } else if (const char* xdg = std::getenv("XDG_RUNTIME_DIR");
             xdg != nullptr && *xdg != '\0' && ::access(xdg, W_OK) == 0) {
    base = fs::path(xdg) / "voidbox";
  } else {
    base = "/tmp/voidbox-" + std::to_string(::getuid());
  }
  // 0711: others may traverse (the process backend's sandbox user must reach
  // its root inside) but not list.
  if (::mkdir(base.c_str(), 0711) != 0 && errno != EEXIST) {
    return std::unexpected("cannot create " + base.string() + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::lstat(base.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::getuid()) {
    return std::unexpected(base.string() + " is not a directory owned by this user");
  }
  if ((st.st_mode & 0777) != 0711) ::chmod(base.c_str(), 0711);
  std::string safe;
  for (char c : label.substr(0, 16)) safe += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  std::string templ = (base / (safe.empty() ? "vm" : safe)).string() + "-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    return std::unexpected("cannot create a state directory in " + base.string() + ": " +
                           std::strerror(errno));
  }
  return StateDir(fs::path(templ));
}

StateDir::~StateDir() {
  if (path_.empty()) return;
  if (const char* keep = std::getenv("VOIDBOX_KEEP_STATE"); keep != nullptr && *keep == '1') {
    return;
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace voidbox::runtime
