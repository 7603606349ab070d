#include "file_ops.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace voidbox::agent {

using protocol::ErrorCode;

std::expected<protocol::StatResult, FileError> FileOps::stat(std::string_view path) const {
  auto t = roots_.locate(path);
  if (!t) return std::unexpected(t.error());
  auto fd = roots_.open(t->root_fd, t->relative, O_PATH | O_NOFOLLOW, 0, path);
  protocol::StatResult r;
  if (!fd) {
    if (fd.error().sys_errno == ENOENT) return r;  // exists = false
    return std::unexpected(fd.error());
  }
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0)
    return std::unexpected(file_error_from_errno(errno, "stat", path));
  r.exists = true;
  r.kind = S_ISREG(st.st_mode)   ? "file"
           : S_ISDIR(st.st_mode) ? "dir"
           : S_ISLNK(st.st_mode) ? "symlink"
                                 : "other";
  r.size = static_cast<std::uint64_t>(st.st_size);
  r.mode = st.st_mode & 07777;
  r.uid = st.st_uid;
  r.gid = st.st_gid;
  r.mtime_ms = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  return r;
}

std::expected<void, FileError> FileOps::make_dirs(int root_fd, const std::string& relative,
                                                  unsigned mode, std::string_view shown) const {
  std::string prefix;
  std::size_t pos = 0;
  while (pos < relative.size()) {
    std::size_t next = relative.find('/', pos);
    if (next == std::string::npos) next = relative.size();
    const std::string comp = relative.substr(pos, next - pos);
    auto parent = roots_.open(root_fd, prefix, O_PATH | O_DIRECTORY, 0, shown);
    if (!parent) return std::unexpected(parent.error());
    if (::mkdirat(parent->get(), comp.c_str(), mode) == 0) {
      if (owner_.chown)
        (void)::fchownat(parent->get(), comp.c_str(), owner_.uid, owner_.gid, AT_SYMLINK_NOFOLLOW);
    } else if (errno != EEXIST) {
      return std::unexpected(file_error_from_errno(errno, "mkdir", shown));
    }
    prefix += (prefix.empty() ? "" : "/") + comp;
    pos = next + 1;
  }
  // The final component must be a real directory reachable without symlinks.
  auto check = roots_.open(root_fd, relative, O_PATH | O_DIRECTORY, 0, shown);
  if (!check) {
    if (check.error().sys_errno == ENOTDIR)
      return std::unexpected(
          FileError{ErrorCode::Io, "mkdir '" + std::string(shown) + "': not a directory", ENOTDIR});
    return std::unexpected(check.error());
  }
  return {};
}

std::expected<void, FileError> FileOps::mkdir(const protocol::Mkdir& req) const {
  auto t = roots_.locate(req.path);
  if (!t) return std::unexpected(t.error());
  if (t->relative.empty()) return {};  // a root always exists
  if (req.parents) return make_dirs(t->root_fd, t->relative, req.mode, req.path);
  auto parent = roots_.open(t->root_fd, t->parent_relative, O_PATH | O_DIRECTORY, 0, req.path);
  if (!parent) return std::unexpected(parent.error());
  if (::mkdirat(parent->get(), t->leaf.c_str(), req.mode) != 0)
    return std::unexpected(file_error_from_errno(errno, "mkdir", req.path));
  if (owner_.chown)
    (void)::fchownat(parent->get(), t->leaf.c_str(), owner_.uid, owner_.gid, AT_SYMLINK_NOFOLLOW);
  return {};
}

std::expected<Fd, FileError> FileOps::open_for_write(const protocol::FileWrite& req) const {
  auto t = roots_.locate(req.path);
  if (!t) return std::unexpected(t.error());
  if (t->relative.empty())
    return std::unexpected(
        FileError{ErrorCode::BadRequest, "cannot write to a root directory: " + req.path});
  if (req.create_parents && !t->parent_relative.empty()) {
    if (auto r = make_dirs(t->root_fd, t->parent_relative, 0755, req.path); !r)
      return std::unexpected(r.error());
  }
  const int flags =
      O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | (req.append ? O_APPEND : O_TRUNC);
  auto fd = roots_.open(t->root_fd, t->relative, flags, req.mode, req.path);
  if (!fd) return fd;
  struct stat st {};
  if (::fstat(fd->get(), &st) == 0 && !S_ISREG(st.st_mode))
    return std::unexpected(FileError{ErrorCode::BadRequest, "not a regular file: " + req.path, 0});
  if (owner_.chown) (void)::fchown(fd->get(), owner_.uid, owner_.gid);
  (void)::fchmod(fd->get(), req.mode);
  return fd;
}

std::expected<Fd, FileError> FileOps::open_for_read(std::string_view path) const {
  auto t = roots_.locate(path);
  if (!t) return std::unexpected(t.error());
  auto fd = roots_.open(t->root_fd, t->relative, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0, path);
  if (!fd) return fd;
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0)
    return std::unexpected(file_error_from_errno(errno, "stat", path));
  if (!S_ISREG(st.st_mode))
    return std::unexpected(
        FileError{ErrorCode::BadRequest, "not a regular file: " + std::string(path), 0});
  return fd;
}

}  // namespace voidbox::agent
