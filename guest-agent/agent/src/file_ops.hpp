// File RPC operations on top of FileRoots: stat, mkdir -p, and the open
// calls behind streamed reads and writes.
#pragma once

#include <sys/types.h>

#include <expected>
#include <optional>

#include "file_roots.hpp"
#include "voidbox/protocol/messages.hpp"

namespace voidbox::agent {

struct Ownership {
  bool chown = false;  // give created files/dirs to uid:gid (agent runs as root)
  uid_t uid = 0;
  gid_t gid = 0;
};

class FileOps {
 public:
  FileOps(const FileRoots& roots, Ownership owner) : roots_(roots), owner_(owner) {}

  std::expected<protocol::StatResult, FileError> stat(std::string_view path) const;
  std::expected<void, FileError> mkdir(const protocol::Mkdir& req) const;
  // Opens (creating, truncating or appending) the target of a FileWrite.
  std::expected<Fd, FileError> open_for_write(const protocol::FileWrite& req) const;
  std::expected<Fd, FileError> open_for_read(std::string_view path) const;

 private:
  // mkdir -p of the directory `relative` below root_fd.
  std::expected<void, FileError> make_dirs(int root_fd, const std::string& relative, unsigned mode,
                                           std::string_view shown) const;

  const FileRoots& roots_;
  Ownership owner_;
};

}  // namespace voidbox::agent
