// The host-facing handshakes of the vsock connection table: accepting Unix
// clients and their "CONNECT <port>" line, guest connection requests to host
// listeners, and the deadlines of both.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "vsock_muxer.hpp"

namespace voidbox::kvm::vsock {

namespace {

constexpr std::size_t kMaxConnectLine = 32;

int connect_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return -1;
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

void Muxer::accept_clients() {
  for (;;) {
    const int fd = ::accept4(listener_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (conns_.size() >= limits_.max_connections || pending_count() >= limits_.max_pending) {
      ::close(fd);
      continue;
    }
    auto c = std::make_unique<Connection>(fd, 0, 0, ConnState::kAwaitingConnectLine);
    c->deadline = Connection::Clock::now() + limits_.connect_line_timeout;
    const std::uint64_t id = add_connection(std::move(c));
    on_connect_line(id, *conns_.at(id));  // the line may already be there
  }
}

void Muxer::on_connect_line(std::uint64_t id, Connection& c) {
  // One byte at a time so nothing after the newline is consumed here.
  for (;;) {
    char ch;
    const ssize_t n = ::read(c.fd, &ch, 1);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      remove(id);
      return;
    }
    if (ch != '\n') {
      if (c.connect_line.size() >= kMaxConnectLine) {
        remove(id);
        return;
      }
      c.connect_line.push_back(ch);
      continue;
    }
    std::string_view line = c.connect_line;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    constexpr std::string_view kPrefix = "CONNECT ";
    std::uint32_t port = 0;
    if (!line.starts_with(kPrefix)) {
      remove(id);
      return;
    }
    line.remove_prefix(kPrefix.size());
    auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), port);
    if (ec != std::errc() || end != line.data() + line.size() || line.empty()) {
      remove(id);
      return;
    }
    c.local_port = allocate_local_port(port);
    c.host_initiated = true;
    c.peer_port = port;
    c.state = ConnState::kConnecting;
    c.deadline = Connection::Clock::now() + limits_.guest_accept_timeout;
    c.connect_line.clear();
    by_key_[{c.local_port, c.peer_port}] = id;
    queue_control(c.local_port, c.peer_port, Op::kRequest);
    return;
  }
}

int Muxer::handle_timeouts() {
  const auto now = Connection::Clock::now();
  std::vector<std::uint64_t> expired;
  auto next = Connection::Clock::time_point::max();
  for (const auto& [id, c] : conns_) {
    if (c->state == ConnState::kEstablished) continue;
    if (c->deadline <= now) {
      expired.push_back(id);
    } else {
      next = std::min(next, c->deadline);
    }
  }
  for (std::uint64_t id : expired) reset_and_remove(id);
  if (next == Connection::Clock::time_point::max()) return -1;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
  return static_cast<int>(std::clamp<long long>(ms, 1, 60'000));
}

void Muxer::on_guest_request(const Header& h) {
  const Key key{h.dst_port, h.src_port};
  if (by_key_.contains(key) || conns_.size() >= limits_.max_connections) {
    queue_control(h.dst_port, h.src_port, Op::kRst);
    return;
  }
  const int fd = connect_unix(uds_path_ + "_" + std::to_string(h.dst_port));
  if (fd < 0) {
    queue_control(h.dst_port, h.src_port, Op::kRst);
    return;
  }
  auto c = std::make_unique<Connection>(fd, h.dst_port, h.src_port, ConnState::kEstablished);
  c->peer_buf_alloc = h.buf_alloc;
  c->peer_fwd_cnt = h.fwd_cnt;
  add_connection(std::move(c));
  queue_control(h.dst_port, h.src_port, Op::kResponse);
}

}  // namespace voidbox::kvm::vsock
