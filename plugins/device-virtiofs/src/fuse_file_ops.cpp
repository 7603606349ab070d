// Requests on open files: open, create, read, write, readdir, release.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

#include "fuse_server.hpp"

namespace voidbox::virtiofs {

namespace {

// The open flags a guest may pass through: access mode, append, truncation
// and the sync flags; creation and path flags are ours to set.
int host_open_flags(std::uint32_t guest) {
  const int keep =
      O_ACCMODE | O_APPEND | O_TRUNC | O_NONBLOCK | O_DSYNC | O_SYNC | O_DIRECT | O_NOATIME;
  return (static_cast<int>(guest) & keep) | O_NOCTTY;
}

bool writes(int flags) {
  return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) != 0;
}

// Permission bits and the sticky bit; no set-user/group-ID bits on files
// the host user owns.
mode_t guest_mode(std::uint32_t mode) {
  return static_cast<mode_t>(mode & 01777);
}

std::uint32_t dirent_type(unsigned char d_type) {
  return d_type == DT_UNKNOWN ? 0 : static_cast<std::uint32_t>(d_type);
}

}  // namespace

int Server::open(const Request& r, ReplyBuilder& b, bool dir) {
  const auto in = r.body<fuse_open_in>();
  auto node = inodes_.get(r.header.nodeid);
  if (!node) return ENOENT;
  const int flags = dir ? O_RDONLY : host_open_flags(in.flags);
  if (cfg_.readonly && writes(flags)) return EROFS;
  auto fd = reopen(node->fd.get(), flags);
  if (!fd) return fd.error();
  auto st = stat_fd(fd->get());
  if (!st) return st.error();
  if (dir != S_ISDIR(st->st_mode)) return dir ? ENOTDIR : EISDIR;
  auto fh = handles_.add(std::move(*fd), dir);
  if (!fh) return fh.error();
  fuse_open_out out{};
  out.fh = *fh;
  b.put(out);
  if (!b.ok()) handles_.remove(*fh);
  return 0;
}

int Server::create(const Request& r, ReplyBuilder& b) {
  const auto in = r.body<fuse_create_in>();
  auto dir = inodes_.get(r.header.nodeid);
  if (!dir) return ENOENT;
  if (!valid_name(r.name)) return EINVAL;
  int flags = host_open_flags(in.flags) | O_CREAT;
  if (in.flags & O_EXCL) flags |= O_EXCL;
  auto fd = open_beneath(dir->fd.get(), r.name, flags, guest_mode(in.mode));
  if (!fd) return fd.error();
  auto st = stat_fd(fd->get());
  if (!st) return st.error();
  // The entry must be the file just opened, not one swapped in since.
  auto path = open_beneath(dir->fd.get(), r.name, O_PATH);
  if (!path) return path.error();
  auto now = stat_fd(path->get());
  if (!now) return now.error();
  if (now->st_ino != st->st_ino || now->st_dev != st->st_dev) return ESTALE;
  auto id = inodes_.remember(std::move(*path), *st);
  if (!id) return id.error();
  auto fh = handles_.add(std::move(*fd), false);
  if (!fh) {
    inodes_.forget(*id, 1);
    return fh.error();
  }
  fuse_entry_out e{};
  e.nodeid = *id;
  e.entry_valid = 1;
  e.attr_valid = 1;
  e.attr = attr_of(*st);
  fuse_open_out o{};
  o.fh = *fh;
  b.put(e);
  b.put(o);
  if (!b.ok()) {
    handles_.remove(*fh);
    inodes_.forget(*id, 1);
  }
  return 0;
}

int Server::read(const Request& r, ReplyBuilder& b) {
  const auto in = r.body<fuse_read_in>();
  auto f = handles_.get(in.fh);
  if (!f || f->dir) return EBADF;
  const std::size_t want = std::min<std::size_t>({in.size, kMaxIo, b.room()});
  std::byte* at = b.reserve(want);
  if (at == nullptr && want > 0) return ERANGE;
  ssize_t n = 0;
  do {
    n = ::pread(f->fd.get(), at, want, static_cast<off_t>(in.offset));
    // FIFOs have no offsets: the stream position is the only one.
    if (n < 0 && errno == ESPIPE) n = ::read(f->fd.get(), at, want);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  b.shrink(want - static_cast<std::size_t>(n));
  return 0;
}

int Server::write(const Request& r, ReplyBuilder& b) {
  const auto in = r.body<fuse_write_in>();
  auto f = handles_.get(in.fh);
  if (!f || f->dir) return EBADF;
  ssize_t n = 0;
  do {
    n = ::pwrite(f->fd.get(), r.data.data(), r.data.size(), static_cast<off_t>(in.offset));
    if (n < 0 && errno == ESPIPE) n = ::write(f->fd.get(), r.data.data(), r.data.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  fuse_write_out out{};
  out.size = static_cast<std::uint32_t>(n);
  b.put(out);
  return 0;
}

int Server::readdir(const Request& r, ReplyBuilder& b, bool plus) {
  const auto in = r.body<fuse_read_in>();
  auto f = handles_.get(in.fh);
  if (!f || !f->dir) return EBADF;
  auto dir = inodes_.get(r.header.nodeid);
  if (!dir) return ENOENT;
  std::lock_guard lock(f->mu);  // the directory position is the handle's
  const std::size_t budget = std::min<std::size_t>({in.size, kMaxIo, b.room()});
  const std::size_t start = b.size();
  const int fd = f->fd.get();
  if (::lseek(fd, static_cast<off_t>(in.offset), SEEK_SET) < 0) return errno;
  std::vector<std::byte> raw(std::clamp<std::size_t>(budget, 512, 65536));
  std::vector<std::byte> entry;
  for (bool full = false; !full;) {
    const long got = ::getdents64(fd, raw.data(), raw.size());
    if (got < 0) return errno;
    if (got == 0) break;
    for (long pos = 0; pos < got;) {
      dirent64 d{};
      const std::size_t fixed = offsetof(dirent64, d_name);
      std::memcpy(&d, raw.data() + pos, std::min<std::size_t>(fixed, got - pos));
      if (d.d_reclen < fixed || pos + d.d_reclen > got) return EIO;
      const char* name = reinterpret_cast<const char*>(raw.data() + pos + fixed);
      const std::string_view nm(name, ::strnlen(name, d.d_reclen - fixed));
      fuse_entry_out e{};
      if (plus && nm != "." && nm != "..") {
        // A lookup the guest will count; an entry gone since is skipped.
        std::vector<std::byte> tmp;
        ReplyBuilder one(tmp, kOutHeaderSize + sizeof e, 0);
        if (entry_for(*dir, nm, one) == 0) std::memcpy(&e, tmp.data() + kOutHeaderSize, sizeof e);
      }
      fuse_dirent de{};
      de.ino = e.nodeid != 0 ? e.attr.ino : d.d_ino;
      de.off = static_cast<std::uint64_t>(d.d_off);
      de.namelen = static_cast<std::uint32_t>(nm.size());
      de.type = dirent_type(d.d_type);
      const std::size_t head = plus ? sizeof(fuse_entry_out) + FUSE_NAME_OFFSET : FUSE_NAME_OFFSET;
      const std::size_t padded = (head + nm.size() + 7) & ~std::size_t{7};
      if (b.size() - start + padded > budget) {
        if (e.nodeid != 0) inodes_.forget(e.nodeid, 1);  // not sent: not counted
        full = true;
        break;
      }
      entry.assign(padded, std::byte{0});
      std::size_t at = 0;
      if (plus) {
        std::memcpy(entry.data(), &e, sizeof e);
        at = sizeof e;
      }
      std::memcpy(entry.data() + at, &de, FUSE_NAME_OFFSET);
      std::memcpy(entry.data() + at + FUSE_NAME_OFFSET, nm.data(), nm.size());
      b.append(entry.data(), entry.size());
      pos += d.d_reclen;
    }
  }
  return 0;
}

int Server::release(const Request& r) {
  const auto in = r.body<fuse_release_in>();
  return handles_.remove(in.fh) ? 0 : EBADF;
}

int Server::flush(const Request& r) {
  const auto in = r.body<fuse_flush_in>();
  return handles_.get(in.fh) ? 0 : EBADF;
}

int Server::fsync(const Request& r) {
  const auto in = r.body<fuse_fsync_in>();
  auto f = handles_.get(in.fh);
  if (!f) return EBADF;
  const int rc = (in.fsync_flags & 1) ? ::fdatasync(f->fd.get()) : ::fsync(f->fd.get());
  // A read-only share may hold files the host user cannot sync; nothing
  // the guest wrote is at stake there.
  if (rc != 0 && !(cfg_.readonly && (errno == EBADF || errno == EINVAL))) return errno;
  return 0;
}

}  // namespace voidbox::virtiofs
