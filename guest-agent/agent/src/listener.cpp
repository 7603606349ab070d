#include "listener.hpp"

#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "log.hpp"

namespace voidbox::agent {

std::expected<int, std::string> listen_vsock(std::uint32_t port) {
  std::string last;
  // finit_module is synchronous, but the virtio transport may still be
  // probing its device; give it up to 5 s.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
      sockaddr_vm addr{};
      addr.svm_family = AF_VSOCK;
      addr.svm_cid = VMADDR_CID_ANY;
      addr.svm_port = port;
      if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd, 16) == 0)
        return fd;
      last = std::string("bind/listen: ") + std::strerror(errno);
      ::close(fd);
    } else {
      last = std::string("socket(AF_VSOCK): ") + std::strerror(errno);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::unexpected(last);
}

std::expected<int, std::string> listen_unix(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return std::unexpected("socket path too long: " + path);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::unexpected(std::string("socket: ") + std::strerror(errno));
  ::unlink(path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0) {
    const int err = errno;
    ::close(fd);
    return std::unexpected("bind " + path + ": " + std::strerror(err));
  }
  ::chmod(path.c_str(), 0600);
  return fd;
}

}  // namespace voidbox::agent
