// Confined access to the shared host directory.
//
// Every file the server reaches is an O_PATH descriptor opened one name at a
// time from its parent's descriptor with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) and O_NOFOLLOW, so no symbolic
// link is ever followed on the host (the guest kernel reads and resolves
// them itself), `..` cannot be used inside a name, and a name swapped for a
// symlink after a walk makes the next open fail with ELOOP instead of
// leaving the share. Each fid keeps its parent's descriptor and its own name
// for the operations that need a real open file (lopen, truncate).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include "p9_wire.hpp"
#include "voidbox/sdk/unique_fd.hpp"

namespace voidbox::p9 {

using sdk::UniqueFd;

// One file of the share as a fid sees it: its O_PATH descriptor and, except
// for the root, the directory it was reached from and its name there.
struct Node {
  std::shared_ptr<const UniqueFd> fd;
  std::shared_ptr<const Node> up;  // null for the share root
  std::string name;
};

// A path component the guest may name: 1..255 bytes, no '/', no NUL, not
// "." or "..".
bool valid_name(std::string_view name);

// openat2(dirfd, name, flags | O_CLOEXEC | O_NOFOLLOW, mode) confined beneath
// dirfd; errno on failure.
std::expected<UniqueFd, int> open_beneath(int dirfd, std::string_view name, int flags,
                                          mode_t mode = 0);

// Opens `node` for I/O with `flags` (no O_CREAT): a directory through its own
// descriptor, anything else again by name from its parent, checked to be
// the same inode the fid walked to (ESTALE otherwise).
std::expected<UniqueFd, int> reopen(const Node& node, int flags);

// The /proc/self/fd path of an O_PATH descriptor, for the calls (chmod,
// utimensat) that take no O_PATH descriptor; it names exactly that inode.
std::string fd_path(int fd);

std::expected<struct stat, int> stat_fd(int fd);
Qid qid_of(const struct stat& st);

}  // namespace voidbox::p9
