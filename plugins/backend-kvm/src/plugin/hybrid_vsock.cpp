#include "hybrid_vsock.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

namespace voidbox::kvm {
namespace {

int ms_until(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

}  // namespace

Result<UniqueFd> hybrid_vsock_handshake(const std::string& socket_path, std::uint32_t port,
                                        std::chrono::steady_clock::time_point deadline) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path)
    return fail("vsock socket path too long: " + socket_path);
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail_errno("socket(AF_UNIX) failed");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return fail_errno("connect to " + socket_path + " failed");
  }
  const std::string request = "CONNECT " + std::to_string(port) + "\n";
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return fail_errno("sending the vsock CONNECT line failed");
  }
  // Read the answer byte by byte: anything after '\n' belongs to the guest.
  std::string line;
  while (line.size() < 64) {
    pollfd p{fd.get(), POLLIN, 0};
    const int n = ::poll(&p, 1, ms_until(deadline));
    if (n == 0) return fail("no answer to CONNECT " + std::to_string(port) + " in time");
    if (n < 0 && errno == EINTR) continue;
    char c = 0;
    const ssize_t r = ::read(fd.get(), &c, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      return fail("guest vsock port " + std::to_string(port) + " refused the connection");
    }
    if (c == '\n') break;
    line.push_back(c);
  }
  if (line.rfind("OK ", 0) != 0) {
    return fail("unexpected answer to CONNECT " + std::to_string(port) + ": \"" + line + "\"");
  }
  return fd;
}

Result<UniqueFd> hybrid_vsock_connect(const std::string& socket_path, std::uint32_t port,
                                      std::chrono::steady_clock::time_point deadline,
                                      const std::function<bool()>& vm_alive) {
  auto backoff = std::chrono::milliseconds(2);
  while (true) {
    auto fd = hybrid_vsock_handshake(socket_path, port, deadline);
    if (fd) return fd;
    if (!vm_alive()) return fail(fd.error().message + " (the VM has ended)");
    if (std::chrono::steady_clock::now() + backoff >= deadline) return fd;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(50));
  }
}

}  // namespace voidbox::kvm
