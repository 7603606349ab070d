// Requests that change the tree: mkdir, symlink, link, rename, unlink.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "p9_server.hpp"

namespace voidbox::p9 {

namespace {

constexpr std::uint32_t kAtRemovedir = 0x200;  // the Linux value the protocol carries

std::expected<struct stat, int> stat_at(int dir, const std::string& name) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return std::unexpected(errno);
  return st;
}

}  // namespace

int Server::mkdir(const Mkdir& m, ReplyBuilder& b) {
  int err = 0;
  auto dir = node_of(m.dfid, &err);
  if (!dir) return err;
  if (!valid_name(m.name)) return EINVAL;
  const std::string name(m.name);
  if (::mkdirat(dir->fd->get(), name.c_str(), static_cast<mode_t>(m.mode & 01777)) != 0) {
    return errno;
  }
  auto st = stat_at(dir->fd->get(), name);
  if (!st) return st.error();
  b.qid(qid_of(*st));
  return 0;
}

int Server::symlink(const Symlink& m, ReplyBuilder& b) {
  int err = 0;
  auto dir = node_of(m.fid, &err);
  if (!dir) return err;
  if (!valid_name(m.name)) return EINVAL;
  // The target is only text to the host: the server never follows it.
  if (m.target.empty() || m.target.size() >= 4096 ||
      m.target.find('\0') != std::string_view::npos) {
    return EINVAL;
  }
  const std::string name(m.name), target(m.target);
  if (::symlinkat(target.c_str(), dir->fd->get(), name.c_str()) != 0) return errno;
  auto st = stat_at(dir->fd->get(), name);
  if (!st) return st.error();
  b.qid(qid_of(*st));
  return 0;
}

int Server::link(const Link& m) {
  int err = 0;
  auto dir = node_of(m.dfid, &err);
  auto node = dir ? node_of(m.fid, &err) : nullptr;
  if (!node) return err;
  if (!node->up) return EPERM;
  if (!valid_name(m.name)) return EINVAL;
  const std::string name(m.name);
  // Flags 0: a symlink is linked as itself, never followed.
  if (::linkat(node->up->fd->get(), node->name.c_str(), dir->fd->get(), name.c_str(), 0) != 0) {
    return errno;
  }
  return 0;
}

int Server::rename(const Rename& m) {
  auto f = find(m.fid);
  if (!f) return EBADF;
  int err = 0;
  auto dir = node_of(m.dfid, &err);
  if (!dir) return err;
  if (!valid_name(m.name)) return EINVAL;
  std::lock_guard lock(f->mu);
  const auto& node = f->node;
  if (!node->up) return EBUSY;
  const std::string name(m.name);
  if (::renameat(node->up->fd->get(), node->name.c_str(), dir->fd->get(), name.c_str()) != 0) {
    return errno;
  }
  f->node = std::make_shared<const Node>(Node{node->fd, dir, name});
  return 0;
}

int Server::renameat(const Renameat& m) {
  int err = 0;
  auto from = node_of(m.olddfid, &err);
  auto to = from ? node_of(m.newdfid, &err) : nullptr;
  if (!to) return err;
  if (!valid_name(m.oldname) || !valid_name(m.newname)) return EINVAL;
  const std::string a(m.oldname), b(m.newname);
  if (::renameat(from->fd->get(), a.c_str(), to->fd->get(), b.c_str()) != 0) return errno;
  return 0;
}

int Server::unlinkat(const Unlinkat& m) {
  int err = 0;
  auto dir = node_of(m.dfid, &err);
  if (!dir) return err;
  if (!valid_name(m.name)) return EINVAL;
  const std::string name(m.name);
  const int flags = (m.flags & kAtRemovedir) ? AT_REMOVEDIR : 0;
  if (::unlinkat(dir->fd->get(), name.c_str(), flags) != 0) return errno;
  return 0;
}

}  // namespace voidbox::p9
