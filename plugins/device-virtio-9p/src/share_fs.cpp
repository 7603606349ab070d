#include "share_fs.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace voidbox::p9 {

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

std::expected<UniqueFd, int> reopen(const Node& node, int flags) {
  auto st = stat_fd(node.fd->get());
  if (!st) return std::unexpected(st.error());
  if (S_ISDIR(st->st_mode)) {
    if ((flags & O_ACCMODE) != O_RDONLY) return std::unexpected(EISDIR);
    const int fd = ::openat(node.fd->get(), ".", flags | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return std::unexpected(errno);
    return UniqueFd(fd);
  }
  if (S_ISLNK(st->st_mode)) return std::unexpected(ELOOP);
  // Device nodes and sockets of the host are not the guest's to open.
  if (!S_ISREG(st->st_mode) && !S_ISFIFO(st->st_mode)) return std::unexpected(EACCES);
  if (!node.up) return std::unexpected(EINVAL);
  // A FIFO opened without O_NONBLOCK waits for its other end inside open(),
  // where no read or write deadline of the guest's can end the wait.
  const bool fifo = S_ISFIFO(st->st_mode);
  auto fd = open_beneath(node.up->fd->get(), node.name, flags | (fifo ? O_NONBLOCK : 0));
  if (!fd) return std::unexpected(fd.error());
  auto now = stat_fd(fd->get());
  if (!now) return std::unexpected(now.error());
  if (now->st_ino != st->st_ino || now->st_dev != st->st_dev) return std::unexpected(ESTALE);
  if (fifo && (flags & O_NONBLOCK) == 0) {
    const int fl = ::fcntl(fd->get(), F_GETFL);
    if (fl < 0 || ::fcntl(fd->get(), F_SETFL, fl & ~O_NONBLOCK) != 0) return std::unexpected(errno);
  }
  return fd;
}

std::string fd_path(int fd) {
  return "/proc/self/fd/" + std::to_string(fd);
}

Qid qid_of(const struct stat& st) {
  Qid q;
  q.type = S_ISDIR(st.st_mode) ? kQidDir : S_ISLNK(st.st_mode) ? kQidSymlink : kQidFile;
  q.version = static_cast<std::uint32_t>(st.st_mtim.tv_sec ^ st.st_mtim.tv_nsec);
  // Files on a file system mounted inside the share may share inode numbers
  // with the share's own: fold the device in so qid paths stay distinct.
  q.path = static_cast<std::uint64_t>(st.st_ino) ^ (static_cast<std::uint64_t>(st.st_dev) << 48);
  return q;
}

}  // namespace voidbox::p9
