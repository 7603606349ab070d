#include "share_nodes.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace voidbox::virtiofs {

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  return name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

std::expected<UniqueFd, int> open_beneath(int dirfd, std::string_view name, int flags,
                                          mode_t mode) {
  if (!valid_name(name)) return std::unexpected(EINVAL);
  const std::string path(name);
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
  how.mode = (flags & O_CREAT) != 0 ? (mode & 07777) : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    const long fd = ::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno == EINTR || errno == EAGAIN) continue;
    return std::unexpected(errno);
  }
}

std::expected<struct stat, int> stat_fd(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::unexpected(errno);
  return st;
}

std::string fd_path(int fd) {
  return "/proc/self/fd/" + std::to_string(fd);
}

std::expected<UniqueFd, int> reopen(int path_fd, int flags) {
  // An O_PATH descriptor's inode never changes type, so this check cannot
  // be raced.
  auto st = stat_fd(path_fd);
  if (!st) return std::unexpected(st.error());
  if (S_ISLNK(st->st_mode)) return std::unexpected(ELOOP);
  if (S_ISDIR(st->st_mode)) {
    if ((flags & O_ACCMODE) != O_RDONLY) return std::unexpected(EISDIR);
    flags |= O_DIRECTORY;
  } else if (!S_ISREG(st->st_mode) && !S_ISFIFO(st->st_mode)) {
    return std::unexpected(EACCES);  // host devices and sockets
  }
  // A FIFO opened without O_NONBLOCK waits for its other end inside open(),
  // where no deadline of the guest's can end the wait.
  const bool fifo = S_ISFIFO(st->st_mode);
  const std::string path = fd_path(path_fd);
  const int fd = ::open(path.c_str(), (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC |
                                          (fifo ? O_NONBLOCK : 0));
  if (fd < 0) return std::unexpected(errno);
  UniqueFd out(fd);
  if (fifo && (flags & O_NONBLOCK) == 0) {
    const int fl = ::fcntl(fd, F_GETFL);
    if (fl < 0 || ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) return std::unexpected(errno);
  }
  return out;
}

InodeTable::InodeTable(UniqueFd root, std::size_t max_inodes) : max_(max_inodes) {
  struct stat st {};
  ::fstat(root.get(), &st);
  auto inode = std::make_shared<Inode>();
  inode->fd = std::move(root);
  inode->dev = st.st_dev;
  inode->ino = st.st_ino;
  by_file_[{st.st_dev, st.st_ino}] = kRootId;
  by_id_[kRootId] = Entry{std::move(inode), 1};
}

InodePtr InodeTable::get(std::uint64_t nodeid) const {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(nodeid);
  return it == by_id_.end() ? nullptr : it->second.inode;
}

std::expected<std::uint64_t, int> InodeTable::remember(UniqueFd fd, const struct stat& st) {
  std::lock_guard lock(mu_);
  if (auto it = by_file_.find({st.st_dev, st.st_ino}); it != by_file_.end()) {
    ++by_id_.at(it->second).nlookup;
    return it->second;
  }
  if (by_id_.size() >= max_) return std::unexpected(ENFILE);
  auto inode = std::make_shared<Inode>();
  inode->fd = std::move(fd);
  inode->dev = st.st_dev;
  inode->ino = st.st_ino;
  const std::uint64_t id = next_id_++;
  by_file_[{st.st_dev, st.st_ino}] = id;
  by_id_[id] = Entry{std::move(inode), 1};
  return id;
}

void InodeTable::forget(std::uint64_t nodeid, std::uint64_t nlookup) {
  if (nodeid == kRootId) return;
  std::lock_guard lock(mu_);
  auto it = by_id_.find(nodeid);
  if (it == by_id_.end()) return;
  if (nlookup < it->second.nlookup) {
    it->second.nlookup -= nlookup;
    return;
  }
  by_file_.erase({it->second.inode->dev, it->second.inode->ino});
  by_id_.erase(it);
}

void InodeTable::forget_all() {
  std::lock_guard lock(mu_);
  for (auto it = by_id_.begin(); it != by_id_.end();) {
    if (it->first == kRootId) {
      ++it;
      continue;
    }
    by_file_.erase({it->second.inode->dev, it->second.inode->ino});
    it = by_id_.erase(it);
  }
}

std::size_t InodeTable::size() const {
  std::lock_guard lock(mu_);
  return by_id_.size();
}

std::expected<std::uint64_t, int> HandleTable::add(UniqueFd fd, bool dir) {
  auto f = std::make_shared<OpenFile>();
  f->fd = std::move(fd);
  f->dir = dir;
  std::lock_guard lock(mu_);
  if (files_.size() >= max_) return std::unexpected(EMFILE);
  const std::uint64_t fh = next_++;
  files_.emplace(fh, std::move(f));
  return fh;
}

OpenFilePtr HandleTable::get(std::uint64_t fh) const {
  std::lock_guard lock(mu_);
  auto it = files_.find(fh);
  return it == files_.end() ? nullptr : it->second;
}

bool HandleTable::remove(std::uint64_t fh) {
  std::lock_guard lock(mu_);
  return files_.erase(fh) != 0;
}

void HandleTable::clear() {
  std::lock_guard lock(mu_);
  files_.clear();
}

std::size_t HandleTable::size() const {
  std::lock_guard lock(mu_);
  return files_.size();
}

}  // namespace voidbox::virtiofs
