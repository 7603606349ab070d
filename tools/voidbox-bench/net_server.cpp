#include "net_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>
#include <vector>

namespace voidbox::bench {
namespace {

constexpr std::size_t kRequestBytes = 64;
// More than any run asks for (--mib is bounded far below), so a garbled
// request cannot keep the server streaming for hours.
constexpr std::uint64_t kMaxStreamBytes = std::uint64_t{64} << 30;
constexpr int kIoTimeoutSecs = 60;

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool read_all(int fd, char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

std::vector<char>& pattern() {
  static std::vector<char> buf = [] {
    std::vector<char> b(256 * 1024);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<char>(i * 251 + 3);
    return b;
  }();
  return buf;
}

}  // namespace

std::optional<NetServer> NetServer::start(std::string& error) {
  NetServer s;
  s.state_ = std::make_unique<State>();
  State& st = *s.state_;
  st.listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(st.listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (st.listener < 0 || ::bind(st.listener, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(st.listener, 64) != 0 ||
      ::getsockname(st.listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe2(st.stop_pipe, O_CLOEXEC) != 0) {
    error = std::string("cannot listen on 127.0.0.1: ") + std::strerror(errno);
    return std::nullopt;
  }
  s.port_ = ntohs(addr.sin_port);
  s.thread_ = std::thread(serve, std::ref(st));
  return s;
}

NetServer::NetServer(NetServer&& other) noexcept
    : port_(other.port_), state_(std::move(other.state_)), thread_(std::move(other.thread_)) {}

NetServer::~NetServer() {
  if (!state_) return;
  if (thread_.joinable()) {
    const char stop = 1;
    (void)!::write(state_->stop_pipe[1], &stop, 1);
    {
      std::lock_guard lock(state_->active_mutex);
      if (state_->active >= 0) ::shutdown(state_->active, SHUT_RDWR);
    }
    thread_.join();
  }
  for (int fd : {state_->listener, state_->stop_pipe[0], state_->stop_pipe[1]}) {
    if (fd >= 0) ::close(fd);
  }
}

void NetServer::serve(State& state) {
  for (;;) {
    pollfd fds[2] = {{state.listener, POLLIN, 0}, {state.stop_pipe[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int conn = ::accept4(state.listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    {
      std::lock_guard lock(state.active_mutex);
      state.active = conn;
    }
    serve_one(state, conn);
    {
      std::lock_guard lock(state.active_mutex);
      state.active = -1;
    }
    ::close(conn);
  }
}

void NetServer::serve_one(State& state, int conn) {
  // A guest that stops mid-stream must not hold the server forever.
  const timeval timeout{kIoTimeoutSecs, 0};
  ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  const int one = 1;
  ::setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char request[kRequestBytes];
  if (!read_all(conn, request, sizeof request) || request[kRequestBytes - 1] != '\n') {
    ++state.errors;
    return;
  }
  std::string_view line(request, kRequestBytes - 1);
  line = line.substr(0, line.find_last_not_of(' ') + 1);
  if (line == "crr") {
    if (!write_all(conn, request, sizeof request)) ++state.errors;
  } else if (line == "send") {
    std::vector<char> buf(256 * 1024);
    std::uint64_t got = 0;
    for (;;) {
      const ssize_t r = ::read(conn, buf.data(), buf.size());
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        ++state.errors;
        return;
      }
      if (r == 0) break;
      got += static_cast<std::uint64_t>(r);
    }
    const std::string count = std::to_string(got) + "\n";
    if (!write_all(conn, count.data(), count.size())) ++state.errors;
  } else if (line.starts_with("recv ")) {
    std::uint64_t bytes = 0;
    const std::string_view digits = line.substr(5);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bytes);
    if (ec != std::errc{} || end != digits.data() + digits.size() || bytes > kMaxStreamBytes) {
      ++state.errors;
      return;
    }
    const auto& buf = pattern();
    for (std::uint64_t left = bytes; left > 0;) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
      if (!write_all(conn, buf.data(), n)) {
        ++state.errors;
        return;
      }
      left -= n;
    }
  } else {
    ++state.errors;
  }
}

}  // namespace voidbox::bench
