#include "file_roots.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace voidbox::agent {

using protocol::ErrorCode;

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

std::expected<std::vector<std::string>, FileError> split_guest_path(std::string_view path) {
  if (path.empty() || path.front() != '/')
    return std::unexpected(
        FileError{ErrorCode::BadRequest, "path must be absolute: '" + std::string(path) + "'"});
  if (path.find('\0') != std::string_view::npos)
    return std::unexpected(FileError{ErrorCode::BadRequest, "path contains a NUL byte"});
  if (path.size() > 4096)
    return std::unexpected(FileError{ErrorCode::TooLarge, "path longer than 4096 bytes"});
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    const std::string_view part = path.substr(pos, next - pos);
    if (part == "..")
      return std::unexpected(
          FileError{ErrorCode::OutsideRoot, "path '" + std::string(path) + "' contains '..'"});
    if (!part.empty() && part != ".") parts.emplace_back(part);
    pos = next + 1;
  }
  return parts;
}

FileError file_error_from_errno(int err, std::string_view op, std::string_view path) {
  const std::string where = std::string(op) + " '" + std::string(path) + "': ";
  switch (err) {
    case ELOOP:
      return {ErrorCode::OutsideRoot, where + "path goes through a symlink (not allowed)", err};
    case EXDEV:
      return {ErrorCode::OutsideRoot, where + "path escapes its root", err};
    case ENOENT:
      return {ErrorCode::NotFound, where + "no such file or directory", err};
    case EACCES:
    case EPERM:
      return {ErrorCode::PermissionDenied, where + std::strerror(err), err};
    case EFBIG:
    case ENOSPC:
    case EDQUOT:
      return {ErrorCode::TooLarge, where + std::strerror(err), err};
    default:
      return {ErrorCode::Io, where + std::strerror(err), err};
  }
}

std::expected<void, std::string> FileRoots::init(const std::string& host_base,
                                                 const std::vector<std::string>& roots,
                                                 bool create_missing) {
  for (const auto& r : roots) {
    auto parts = split_guest_path(r);
    if (!parts || parts->empty()) return std::unexpected("bad file root '" + r + "'");
    std::string host_path = host_base == "/" ? std::string() : host_base;
    for (const auto& p : *parts) {
      host_path += "/" + p;
      if (create_missing) ::mkdir(host_path.c_str(), 0755);
    }
    const int fd = ::open(host_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
      return std::unexpected("cannot open file root " + host_path + ": " + std::strerror(errno));
    root_names_.push_back(r);
    root_parts_.push_back(std::move(*parts));
    root_fds_.emplace_back(fd);
  }
  return {};
}

std::expected<FileRoots::Target, FileError> FileRoots::locate(std::string_view guest_path) const {
  auto parts = split_guest_path(guest_path);
  if (!parts) return std::unexpected(parts.error());
  // Longest matching root wins (/home/sandbox over /home if both are roots).
  int best = -1;
  for (std::size_t i = 0; i < root_parts_.size(); ++i) {
    const auto& rp = root_parts_[i];
    if (rp.size() > parts->size()) continue;
    if (!std::equal(rp.begin(), rp.end(), parts->begin())) continue;
    if (best < 0 || rp.size() > root_parts_[static_cast<std::size_t>(best)].size())
      best = static_cast<int>(i);
  }
  if (best < 0) {
    std::string allowed;
    for (const auto& r : root_names_) allowed += (allowed.empty() ? "" : ", ") + r;
    return std::unexpected(FileError{
        ErrorCode::OutsideRoot,
        "path '" + std::string(guest_path) + "' is outside the allowed roots (" + allowed + ")"});
  }
  const auto b = static_cast<std::size_t>(best);
  Target t;
  t.root_fd = root_fds_[b].get();
  for (std::size_t i = root_parts_[b].size(); i < parts->size(); ++i) {
    if (i + 1 == parts->size()) {
      t.parent_relative = t.relative;
      t.leaf = (*parts)[i];
    }
    t.relative += (t.relative.empty() ? "" : "/") + (*parts)[i];
  }
  return t;
}

std::expected<Fd, FileError> FileRoots::open(int root_fd, const std::string& relative, int flags,
                                             unsigned mode, std::string_view shown_path) const {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const char* rel = relative.empty() ? "." : relative.c_str();
  long fd;
  do {
    fd = ::syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
  } while (fd < 0 && errno == EAGAIN);
  if (fd < 0) return std::unexpected(file_error_from_errno(errno, "open", shown_path));
  return Fd(static_cast<int>(fd));
}

}  // namespace voidbox::agent
