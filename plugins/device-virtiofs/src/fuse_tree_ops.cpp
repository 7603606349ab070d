// Requests on names and inodes: attributes, links, directories, renames.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "fuse_server.hpp"

namespace voidbox::virtiofs {

namespace {

mode_t guest_mode(std::uint32_t mode) {
  return static_cast<mode_t>(mode & 01777);
}

timespec time_of(std::uint32_t valid, std::uint32_t set, std::uint32_t now, std::uint64_t sec,
                 std::uint32_t nsec) {
  if (valid & now) return {0, UTIME_NOW};
  if (valid & set) return {static_cast<time_t>(sec), static_cast<long>(nsec % 1000000000)};
  return {0, UTIME_OMIT};
}

}  // namespace

int Server::setattr(const Request& r, ReplyBuilder& b) {
  const auto in = r.body<fuse_setattr_in>();
  auto node = inodes_.get(r.header.nodeid);
  if (!node) return ENOENT;
  auto st = stat_fd(node->fd.get());
  if (!st) return st.error();
  // Symbolic links have no mode on Linux, and changing their times would
  // need a path through /proc that follows them: leave them.
  if (!S_ISLNK(st->st_mode)) {
    const std::string path = fd_path(node->fd.get());
    if ((in.valid & FATTR_MODE) && ::chmod(path.c_str(), guest_mode(in.mode)) != 0) return errno;
    if (in.valid & FATTR_SIZE) {
      if (S_ISDIR(st->st_mode)) return EISDIR;
      OpenFilePtr f = (in.valid & FATTR_FH) ? handles_.get(in.fh) : nullptr;
      if (f && !f->dir) {
        if (::ftruncate(f->fd.get(), static_cast<off_t>(in.size)) != 0) return errno;
      } else {
        auto fd = reopen(node->fd.get(), O_WRONLY);
        if (!fd) return fd.error();
        if (::ftruncate(fd->get(), static_cast<off_t>(in.size)) != 0) return errno;
      }
    }
    if (in.valid & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)) {
      const timespec t[2] = {
          time_of(in.valid, FATTR_ATIME, FATTR_ATIME_NOW, in.atime, in.atimensec),
          time_of(in.valid, FATTR_MTIME, FATTR_MTIME_NOW, in.mtime, in.mtimensec)};
      if (::utimensat(AT_FDCWD, path.c_str(), t, 0) != 0) return errno;
    }
  }
  auto now = stat_fd(node->fd.get());
  if (!now) return now.error();
  fuse_attr_out out{};
  out.attr_valid = 1;
  out.attr = attr_of(*now);
  b.put(out);
  return 0;
}

int Server::readlink(const Request& r, ReplyBuilder& b) {
  auto node = inodes_.get(r.header.nodeid);
  if (!node) return ENOENT;
  char target[kMaxLinkTarget + 1];
  const ssize_t n = ::readlinkat(node->fd.get(), "", target, sizeof target);
  if (n < 0) return errno;
  if (static_cast<std::size_t>(n) > kMaxLinkTarget) return ENAMETOOLONG;
  b.append(target, static_cast<std::size_t>(n));
  return 0;
}

int Server::mkdir(const Request& r, ReplyBuilder& b) {
  const auto in = r.body<fuse_mkdir_in>();
  auto dir = inodes_.get(r.header.nodeid);
  if (!dir) return ENOENT;
  if (!valid_name(r.name)) return EINVAL;
  // mkdirat never follows a symlink in the last component (EEXIST).
  if (::mkdirat(dir->fd.get(), std::string(r.name).c_str(), guest_mode(in.mode)) != 0) {
    return errno;
  }
  return entry_for(*dir, r.name, b);
}

int Server::symlink(const Request& r, ReplyBuilder& b) {
  auto dir = inodes_.get(r.header.nodeid);
  if (!dir) return ENOENT;
  if (!valid_name(r.name) || r.name2.empty()) return EINVAL;
  // The target is the guest's text: the host never follows it.
  if (::symlinkat(std::string(r.name2).c_str(), dir->fd.get(), std::string(r.name).c_str()) != 0) {
    return errno;
  }
  return entry_for(*dir, r.name, b);
}

int Server::remove(const Request& r, bool is_dir) {
  auto dir = inodes_.get(r.header.nodeid);
  if (!dir) return ENOENT;
  if (!valid_name(r.name)) return EINVAL;
  if (::unlinkat(dir->fd.get(), std::string(r.name).c_str(), is_dir ? AT_REMOVEDIR : 0) != 0) {
    return errno;
  }
  return 0;
}

int Server::rename(const Request& r) {
  std::uint64_t newdir = 0;
  unsigned flags = 0;
  if (r.header.opcode == FUSE_RENAME2) {
    const auto in = r.body<fuse_rename2_in>();
    newdir = in.newdir;
    flags = in.flags;
  } else {
    newdir = r.body<fuse_rename_in>().newdir;
  }
  if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) != 0) return EINVAL;
  auto from = inodes_.get(r.header.nodeid);
  auto to = inodes_.get(newdir);
  if (!from || !to) return ENOENT;
  if (!valid_name(r.name) || !valid_name(r.name2)) return EINVAL;
  if (::renameat2(from->fd.get(), std::string(r.name).c_str(), to->fd.get(),
                  std::string(r.name2).c_str(), flags) != 0) {
    return errno;
  }
  return 0;
}

int Server::statfs(const Request& r, ReplyBuilder& b) {
  auto node = inodes_.get(r.header.nodeid);
  if (!node) node = inodes_.get(kRootId);
  struct statfs s {};
  if (::fstatfs(node->fd.get(), &s) != 0) return errno;
  fuse_statfs_out out{};
  out.st.blocks = s.f_blocks;
  out.st.bfree = s.f_bfree;
  out.st.bavail = s.f_bavail;
  out.st.files = s.f_files;
  out.st.ffree = s.f_ffree;
  out.st.bsize = static_cast<std::uint32_t>(s.f_bsize);
  out.st.namelen = static_cast<std::uint32_t>(s.f_namelen);
  out.st.frsize = static_cast<std::uint32_t>(s.f_frsize);
  b.put(out);
  return 0;
}

int Server::access(const Request& r) {
  const auto in = r.body<fuse_access_in>();
  auto node = inodes_.get(r.header.nodeid);
  if (!node) return ENOENT;
  // Permissions are the guest kernel's to check against the attributes we
  // report; the host's only refusal is a write to a read-only share.
  if (cfg_.readonly && (in.mask & W_OK)) return EROFS;
  return 0;
}

}  // namespace voidbox::virtiofs
