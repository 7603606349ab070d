// The host side of a virtio-fs share: confined opens and the two tables the
// guest names things by, inodes (nodeid) and open files (fh).
//
// Every inode is an O_PATH descriptor opened one name at a time from its
// directory's descriptor with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS) and O_NOFOLLOW: no host symlink is ever followed
// (the guest kernel reads links and resolves them in its own tree), no name
// holds `/` or is `.`/`..`, and a name swapped for a symlink after a lookup
// is the symlink's own inode, never its target. Files are opened for I/O
// through /proc/self/fd of the inode's own descriptor, which names exactly
// that inode, and only when it is a regular file, a directory or a FIFO.
//
// The guest picks nodeids and fhs only from what we handed out: every one
// it sends is looked up in its table (EBADF/ENOENT otherwise), both tables
// are bounded, and nodeids are never reused.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "voidbox/sdk/unique_fd.hpp"

namespace voidbox::virtiofs {

using sdk::UniqueFd;

inline constexpr std::uint64_t kRootId = 1;  // FUSE_ROOT_ID

bool valid_name(std::string_view name);

// openat2 confined beneath dirfd, with O_CLOEXEC | O_NOFOLLOW; errno on failure.
std::expected<UniqueFd, int> open_beneath(int dirfd, std::string_view name, int flags,
                                          mode_t mode = 0);
std::expected<struct stat, int> stat_fd(int fd);
std::string fd_path(int fd);
// Opens an inode's O_PATH descriptor for I/O: regular files, directories
// and FIFOs only (EACCES for devices and sockets, ELOOP for symlinks).
std::expected<UniqueFd, int> reopen(int path_fd, int flags);

struct Inode {
  UniqueFd fd;  // O_PATH
  dev_t dev = 0;
  ino_t ino = 0;
};
using InodePtr = std::shared_ptr<const Inode>;

class InodeTable {
 public:
  InodeTable(UniqueFd root, std::size_t max_inodes);
  InodePtr get(std::uint64_t nodeid) const;
  // The nodeid of `fd`'s inode with one more lookup counted: an inode
  // already known keeps its nodeid (and `fd` is closed). ENFILE when full.
  std::expected<std::uint64_t, int> remember(UniqueFd fd, const struct stat& st);
  void forget(std::uint64_t nodeid, std::uint64_t nlookup);
  void forget_all();  // all but the root
  std::size_t size() const;

 private:
  struct Entry {
    InodePtr inode;
    std::uint64_t nlookup = 0;
  };
  mutable std::mutex mu_;
  std::unordered_map<std::uint64_t, Entry> by_id_;
  std::map<std::pair<dev_t, ino_t>, std::uint64_t> by_file_;
  std::uint64_t next_id_ = 2;  // 1 is FUSE_ROOT_ID
  std::size_t max_;
};

struct OpenFile {
  UniqueFd fd;
  bool dir = false;
  std::mutex mu;  // a directory's position is the handle's
};
using OpenFilePtr = std::shared_ptr<OpenFile>;

class HandleTable {
 public:
  explicit HandleTable(std::size_t max) : max_(max) {}
  std::expected<std::uint64_t, int> add(UniqueFd fd, bool dir);  // EMFILE when full
  OpenFilePtr get(std::uint64_t fh) const;
  bool remove(std::uint64_t fh);
  void clear();
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::uint64_t, OpenFilePtr> files_;
  std::uint64_t next_ = 1;
  std::size_t max_;
};

}  // namespace voidbox::virtiofs
