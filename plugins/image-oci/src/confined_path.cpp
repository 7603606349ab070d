#include "confined_path.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace voidbox::oci {
namespace {

constexpr size_t kMaxPathBytes = 4096;
constexpr size_t kMaxDepth = 256;

long openat2_beneath(int dirfd, const char* path, int flags) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

bool openat2_available() {
  static const bool available = [] {
    long fd = openat2_beneath(AT_FDCWD, ".", O_PATH | O_CLOEXEC);
    if (fd >= 0) ::close(static_cast<int>(fd));
    return !(fd < 0 && errno == ENOSYS);
  }();
  return available;
}

Error escape_error(const std::string& path, int err) {
  if (err == EXDEV || err == ELOOP) {
    return {VB_ERR_INVALID_ARGUMENT,
            "'" + path + "' resolves outside the image root through a symlink; refusing"};
  }
  if (err == ENOTDIR) return {VB_ERR_INVALID_ARGUMENT, "'" + path + "' is not a directory"};
  return {VB_ERR_IO, "open '" + path + "': " + std::strerror(err)};
}

// Opens one existing directory path beneath root; -1 with errno on failure.
int open_beneath(int root, const std::string& path) {
  int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  if (path.empty()) return ::openat(root, ".", flags);
  if (openat2_available()) return static_cast<int>(openat2_beneath(root, path.c_str(), flags));
  // Without openat2: walk component by component and refuse every symlink.
  int current = ::openat(root, ".", flags);
  for (size_t start = 0; current >= 0 && start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    int next = ::openat(current, part.c_str(), flags | O_NOFOLLOW);
    int saved = errno;
    ::close(current);
    if (next < 0) {
      errno = saved == ELOOP ? EXDEV : saved;
      return -1;
    }
    current = next;
    start = end + 1;
  }
  return current;
}

}  // namespace

Result<std::vector<std::string>> normalize_entry_path(std::string_view name) {
  if (name.size() > kMaxPathBytes)
    return fail(VB_ERR_INVALID_ARGUMENT, "path longer than 4096 bytes");
  if (name.find('\0') != std::string_view::npos)
    return fail(VB_ERR_INVALID_ARGUMENT, "NUL in path");
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view part = name.substr(start, end - start);
    if (part == "..") {
      return fail(VB_ERR_INVALID_ARGUMENT,
                  "path contains '..'; refusing to write outside the root");
    }
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = end + 1;
  }
  if (parts.size() > kMaxDepth) return fail(VB_ERR_INVALID_ARGUMENT, "path deeper than 256 levels");
  return parts;
}

std::string join_components(const std::vector<std::string>& parts, size_t count) {
  std::string out;
  for (size_t i = 0; i < count && i < parts.size(); ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  return out;
}

WhiteoutKind classify_whiteout(std::string_view leaf, std::string* target) {
  constexpr std::string_view kPrefix = ".wh.";
  if (leaf == ".wh..wh..opq") return WhiteoutKind::opaque;
  if (!leaf.starts_with(kPrefix)) return WhiteoutKind::none;
  std::string_view rest = leaf.substr(kPrefix.size());
  if (rest.empty() || rest == "." || rest == ".." || rest.starts_with(".wh.")) {
    return WhiteoutKind::none;  // not a meaningful whiteout; treated as a bad name by the caller
  }
  if (target != nullptr) *target = std::string(rest);
  return WhiteoutKind::file;
}

Result<ConfinedRoot> ConfinedRoot::open(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return fail(VB_ERR_IO, "create " + path + ": " + ec.message());
  ConfinedRoot root;
  root.root_.reset(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.root_) return fail(VB_ERR_IO, "open " + path + ": " + std::strerror(errno));
  return root;
}

Result<UniqueFd> ConfinedRoot::open_dir(const std::vector<std::string>& parts, size_t count,
                                        bool create) const {
  std::string path = join_components(parts, count);
  int fd = open_beneath(root_.get(), path);
  if (fd >= 0) return UniqueFd(fd);
  if (errno != ENOENT || !create) return std::unexpected(escape_error(path, errno));
  // Find the deepest existing ancestor, then create the rest one level at a time.
  size_t existing = count;
  UniqueFd dir;
  while (existing > 0) {
    --existing;
    int candidate = open_beneath(root_.get(), join_components(parts, existing));
    if (candidate >= 0) {
      dir.reset(candidate);
      break;
    }
    if (errno != ENOENT) {
      return std::unexpected(escape_error(join_components(parts, existing), errno));
    }
  }
  if (!dir) return fail(VB_ERR_IO, "cannot open the image root");
  for (size_t i = existing; i < count; ++i) {
    const char* part = parts[i].c_str();
    if (::mkdirat(dir.get(), part, 0700) != 0 && errno != EEXIST) {
      return fail(VB_ERR_IO,
                  "mkdir '" + join_components(parts, i + 1) + "': " + std::strerror(errno));
    }
    int next = ::openat(dir.get(), part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) {
      return std::unexpected(
          escape_error(join_components(parts, i + 1), errno == ELOOP ? EXDEV : errno));
    }
    dir.reset(next);
  }
  return dir;
}

Result<void> remove_tree(int dirfd, const std::string& name) {
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return fail(VB_ERR_IO, "stat '" + name + "': " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return fail(VB_ERR_IO, "open '" + name + "': " + std::strerror(errno));
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
      ::close(fd);
      return fail(VB_ERR_IO, "opendir '" + name + "': " + std::strerror(errno));
    }
    std::vector<std::string> children;
    while (dirent* e = ::readdir(dir)) {
      std::string child = e->d_name;
      if (child != "." && child != "..") children.push_back(std::move(child));
    }
    Result<void> outcome;
    for (const auto& child : children) {
      outcome = remove_tree(::dirfd(dir), child);
      if (!outcome) break;
    }
    ::closedir(dir);
    if (!outcome) return outcome;
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return fail(VB_ERR_IO, "rmdir '" + name + "': " + std::strerror(errno));
    }
    return {};
  }
  if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) {
    return fail(VB_ERR_IO, "unlink '" + name + "': " + std::strerror(errno));
  }
  return {};
}

}  // namespace voidbox::oci
