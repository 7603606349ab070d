// Confinement of file RPCs to allowed roots. A request path is an absolute
// guest path; it must lie under one of the roots (e.g. /workspace). The part
// below the root is resolved with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
// | RESOLVE_NO_MAGICLINKS) against a directory fd of the root, so `..`, any
// symlink and magic links fail with a clear error instead of escaping.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "voidbox/protocol/messages.hpp"

namespace voidbox::agent {

struct FileError {
  protocol::ErrorCode code;
  std::string message;
  int sys_errno = 0;
};

// Owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Splits an absolute path into components, dropping "." and empty ones.
// Fails on relative paths, ".." and NUL bytes.
std::expected<std::vector<std::string>, FileError> split_guest_path(std::string_view path);

class FileRoots {
 public:
  // host_base: directory the guest paths live in ("/" in a VM, --root in
  // process mode). roots: guest paths like "/workspace". Missing roots are
  // created when create_missing is set.
  std::expected<void, std::string> init(const std::string& host_base,
                                        const std::vector<std::string>& roots, bool create_missing);

  const std::vector<std::string>& roots() const { return root_names_; }

  struct Target {
    int root_fd;                  // borrowed
    std::string relative;         // "" = the root itself
    std::string parent_relative;  // "" = the root itself
    std::string leaf;             // last component ("" for the root)
  };
  std::expected<Target, FileError> locate(std::string_view guest_path) const;

  // openat2 beneath the root; relative "" opens the root itself. shown_path
  // names the file in error messages.
  std::expected<Fd, FileError> open(int root_fd, const std::string& relative, int flags,
                                    unsigned mode, std::string_view shown_path) const;

 private:
  std::vector<std::string> root_names_;
  std::vector<std::vector<std::string>> root_parts_;
  std::vector<Fd> root_fds_;
};

// Maps errno from a resolution to a protocol error with a readable message.
FileError file_error_from_errno(int err, std::string_view op, std::string_view path);

}  // namespace voidbox::agent
