// Requests on one file: open, create, read, write, readdir, attributes.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

#include "p9_server.hpp"

namespace voidbox::p9 {

namespace {

// 9P2000.L open flags (the Linux generic values) to this host's.
constexpr std::uint32_t kDotlWronly = 01, kDotlRdwr = 02, kDotlTrunc = 01000, kDotlAppend = 02000,
                        kDotlNonblock = 04000, kDotlDsync = 010000, kDotlSync = 04000000,
                        kDotlExcl = 0200;

int host_open_flags(std::uint32_t dotl) {
  int f = (dotl & 3) == kDotlRdwr ? O_RDWR : (dotl & 3) == kDotlWronly ? O_WRONLY : O_RDONLY;
  if (dotl & kDotlTrunc) f |= O_TRUNC;
  if (dotl & kDotlAppend) f |= O_APPEND;
  if (dotl & kDotlNonblock) f |= O_NONBLOCK;
  if (dotl & kDotlDsync) f |= O_DSYNC;
  if (dotl & kDotlSync) f |= O_SYNC;
  return f | O_NOCTTY;
}

bool writes(int flags) {
  return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) != 0;
}

// What a guest may set in a mode: permission bits and the sticky bit; no
// set-user/group-ID bits on files the host user owns.
mode_t guest_mode(std::uint32_t mode) {
  return static_cast<mode_t>(mode & 01777);
}

constexpr std::uint64_t kGetattrBasic = 0x7ff;
constexpr std::uint32_t kSetMode = 0x1, kSetSize = 0x8, kSetAtime = 0x10, kSetMtime = 0x20,
                        kSetAtimeSet = 0x80, kSetMtimeSet = 0x100;

}  // namespace

int Server::lopen(const Lopen& m, ReplyBuilder& b) {
  auto f = find(m.fid);
  if (!f) return EBADF;
  const int flags = host_open_flags(m.flags);
  if (cfg_.readonly && writes(flags)) return EROFS;
  std::lock_guard lock(f->mu);
  if (f->file) return EBADF;  // already open
  auto fd = reopen(*f->node, flags);
  if (!fd) return fd.error();
  auto st = stat_fd(fd->get());
  if (!st) return st.error();
  f->is_dir = S_ISDIR(st->st_mode);
  f->file = std::make_shared<const UniqueFd>(std::move(*fd));
  b.qid(qid_of(*st));
  b.u32(0);  // iounit: the client's msize rules
  return 0;
}

int Server::lcreate(const Lcreate& m, ReplyBuilder& b) {
  auto f = find(m.fid);
  if (!f) return EBADF;
  if (!valid_name(m.name)) return EINVAL;
  std::lock_guard lock(f->mu);
  if (f->file) return EBADF;
  const int dir = f->node->fd->get();
  int flags = host_open_flags(m.flags) | O_CREAT;
  if (m.flags & kDotlExcl) flags |= O_EXCL;
  auto fd = open_beneath(dir, m.name, flags, guest_mode(m.mode));
  if (!fd) return fd.error();
  auto path = open_beneath(dir, m.name, O_PATH);
  if (!path) return path.error();
  auto st = stat_fd(fd->get());
  if (!st) return st.error();
  f->node = std::make_shared<const Node>(
      Node{std::make_shared<const UniqueFd>(std::move(*path)), f->node, std::string(m.name)});
  f->file = std::make_shared<const UniqueFd>(std::move(*fd));
  f->is_dir = false;
  b.qid(qid_of(*st));
  b.u32(0);
  return 0;
}

int Server::read(const Read& m, ReplyBuilder& b) {
  int err = 0;
  auto file = file_of(m.fid, &err);
  if (!file) return err;
  if (b.room() < 4) return ERANGE;
  const std::size_t want = std::min<std::size_t>(m.count, b.room() - 4);
  b.u32(0);
  const std::size_t count_at = b.size() - 4;
  std::byte* at = b.reserve(want);
  if (at == nullptr && want > 0) return ERANGE;
  ssize_t n = 0;
  do {
    n = ::pread(file->get(), at, want, static_cast<off_t>(m.offset));
    // FIFOs have no offsets: the stream position is the only one.
    if (n < 0 && errno == ESPIPE) n = ::read(file->get(), at, want);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  b.shrink(want - static_cast<std::size_t>(n));
  b.patch_u32(count_at, static_cast<std::uint32_t>(n));
  return 0;
}

int Server::write(const Write& m, ReplyBuilder& b) {
  int err = 0;
  auto file = file_of(m.fid, &err);
  if (!file) return err;
  ssize_t n = 0;
  do {
    n = ::pwrite(file->get(), m.data.data(), m.data.size(), static_cast<off_t>(m.offset));
    if (n < 0 && errno == ESPIPE) n = ::write(file->get(), m.data.data(), m.data.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  b.u32(static_cast<std::uint32_t>(n));
  return 0;
}

int Server::readdir(const Readdir& m, ReplyBuilder& b) {
  auto f = find(m.fid);
  if (!f) return EBADF;
  std::lock_guard lock(f->mu);  // the directory position is the fid's
  if (!f->file || !f->is_dir) return f->file ? ENOTDIR : EBADF;
  if (b.room() < 4) return ERANGE;
  const std::size_t budget = std::min<std::size_t>(m.count, b.room() - 4);
  b.u32(0);
  const std::size_t count_at = b.size() - 4;
  const std::size_t start = b.size();
  const int fd = f->file->get();
  auto dir_st = stat_fd(fd);
  if (!dir_st) return dir_st.error();
  const std::uint64_t dev_bits = static_cast<std::uint64_t>(dir_st->st_dev) << 48;
  if (::lseek(fd, static_cast<off_t>(m.offset), SEEK_SET) < 0) return errno;
  // getdents64 records are at least as long as the entries they become
  // minus 6 bytes per entry, so a buffer of `budget` bytes never holds far
  // more than fits; entries that do not fit are read again next time.
  std::vector<std::byte> raw(std::max<std::size_t>(budget, 512));
  bool full = false;
  while (!full) {
    const long got = ::getdents64(fd, raw.data(), raw.size());
    if (got < 0) return errno;
    if (got == 0) break;
    for (long pos = 0; pos < got;) {
      dirent64 d{};
      const std::size_t fixed = offsetof(dirent64, d_name);
      std::memcpy(&d, raw.data() + pos, std::min<std::size_t>(fixed, got - pos));
      if (d.d_reclen < fixed || pos + d.d_reclen > got) return EIO;
      const char* name = reinterpret_cast<const char*>(raw.data() + pos + fixed);
      const std::string_view nm(name, strnlen(name, d.d_reclen - fixed));
      const std::size_t need = 13 + 8 + 1 + 2 + nm.size();
      if (b.size() - start + need > budget) {
        full = true;
        break;
      }
      Qid q;
      q.type = d.d_type == DT_DIR ? kQidDir : d.d_type == DT_LNK ? kQidSymlink : kQidFile;
      q.path = d.d_ino ^ dev_bits;
      b.qid(q);
      b.u64(static_cast<std::uint64_t>(d.d_off));
      b.u8(d.d_type);
      b.str(nm);
      pos += d.d_reclen;
    }
  }
  b.patch_u32(count_at, static_cast<std::uint32_t>(b.size() - start));
  return 0;
}

int Server::getattr(const Getattr& m, ReplyBuilder& b) {
  int err = 0;
  auto node = node_of(m.fid, &err);
  if (!node) return err;
  auto st = stat_fd(node->fd->get());
  if (!st) return st.error();
  b.u64(kGetattrBasic);
  b.qid(qid_of(*st));
  b.u32(st->st_mode);
  b.u32(cfg_.owner_uid);
  b.u32(cfg_.owner_gid);
  b.u64(st->st_nlink);
  b.u64(st->st_rdev);
  b.u64(static_cast<std::uint64_t>(st->st_size));
  b.u64(static_cast<std::uint64_t>(st->st_blksize));
  b.u64(static_cast<std::uint64_t>(st->st_blocks));
  for (const timespec& t : {st->st_atim, st->st_mtim, st->st_ctim}) {
    b.u64(static_cast<std::uint64_t>(t.tv_sec));
    b.u64(static_cast<std::uint64_t>(t.tv_nsec));
  }
  for (int i = 0; i < 4; ++i) b.u64(0);  // btime, gen, data_version
  return 0;
}

int Server::setattr(const Setattr& m) {
  int err = 0;
  auto node = node_of(m.fid, &err);
  if (!node) return err;
  auto st = stat_fd(node->fd->get());
  if (!st) return st.error();
  // Symbolic links have no mode on Linux, and their times are not worth a
  // path through /proc that could be raced: leave them.
  if (S_ISLNK(st->st_mode)) return 0;
  const std::string path = fd_path(node->fd->get());
  if ((m.valid & kSetMode) && ::chmod(path.c_str(), guest_mode(m.mode)) != 0) return errno;
  if (m.valid & kSetSize) {
    if (S_ISDIR(st->st_mode)) return EISDIR;
    auto fd = reopen(*node, O_WRONLY);
    if (!fd) return fd.error();
    if (::ftruncate(fd->get(), static_cast<off_t>(m.size)) != 0) return errno;
  }
  if (m.valid & (kSetAtime | kSetMtime)) {
    timespec t[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    if (m.valid & kSetAtime) {
      t[0] = (m.valid & kSetAtimeSet) ? timespec{static_cast<time_t>(m.atime_sec),
                                                 static_cast<long>(m.atime_nsec % 1000000000)}
                                      : timespec{0, UTIME_NOW};
    }
    if (m.valid & kSetMtime) {
      t[1] = (m.valid & kSetMtimeSet) ? timespec{static_cast<time_t>(m.mtime_sec),
                                                 static_cast<long>(m.mtime_nsec % 1000000000)}
                                      : timespec{0, UTIME_NOW};
    }
    if (::utimensat(AT_FDCWD, path.c_str(), t, 0) != 0) return errno;
  }
  return 0;
}

int Server::statfs(const Statfs& m, ReplyBuilder& b) {
  int err = 0;
  auto node = node_of(m.fid, &err);
  if (!node) return err;
  struct statfs s {};
  if (::fstatfs(node->fd->get(), &s) != 0) return errno;
  b.u32(static_cast<std::uint32_t>(s.f_type));
  b.u32(static_cast<std::uint32_t>(s.f_bsize));
  b.u64(s.f_blocks);
  b.u64(s.f_bfree);
  b.u64(s.f_bavail);
  b.u64(s.f_files);
  b.u64(s.f_ffree);
  std::uint64_t fsid = 0;
  std::memcpy(&fsid, &s.f_fsid, std::min(sizeof fsid, sizeof s.f_fsid));
  b.u64(fsid);
  b.u32(static_cast<std::uint32_t>(s.f_namelen));
  return 0;
}

int Server::readlink(const Readlink& m, ReplyBuilder& b) {
  int err = 0;
  auto node = node_of(m.fid, &err);
  if (!node) return err;
  char target[4096];
  const ssize_t n = ::readlinkat(node->fd->get(), "", target, sizeof target);
  if (n < 0) return errno;
  if (static_cast<std::size_t>(n) >= sizeof target) return ENAMETOOLONG;
  b.str(std::string_view(target, static_cast<std::size_t>(n)));
  return 0;
}

int Server::fsync(const Fsync& m) {
  int err = 0;
  auto file = file_of(m.fid, &err);
  if (!file) return err;
  const int r = m.datasync ? ::fdatasync(file->get()) : ::fsync(file->get());
  // A read-only share may hold files the host user cannot sync; nothing
  // the guest wrote is at stake there.
  if (r != 0 && !(cfg_.readonly && (errno == EBADF || errno == EINVAL))) return errno;
  return 0;
}

}  // namespace voidbox::p9
