#include "vsock_muxer.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace voidbox::kvm::vsock {

namespace {

bool peer_fully_closed(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
}

}  // namespace

Connection::~Connection() {
  if (fd >= 0) ::close(fd);
}

Muxer::Muxer(std::uint64_t guest_cid, int listener_fd, std::string uds_path, int epoll_fd,
             Limits limits)
    : guest_cid_(guest_cid),
      listener_fd_(listener_fd),
      uds_path_(std::move(uds_path)),
      epoll_fd_(epoll_fd),
      limits_(limits) {
  if (listener_fd_ >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenerToken;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listener_fd_, &ev);
  }
}

Muxer::~Muxer() {
  clear();
  if (listener_fd_ >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listener_fd_, nullptr);
}

void Muxer::clear() {
  for (auto& [id, c] : conns_) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  conns_.clear();
  by_key_.clear();
  host_ports_in_use_.clear();
  control_.clear();
}

std::uint64_t Muxer::add_connection(std::unique_ptr<Connection> c) {
  const std::uint64_t id = next_id_++;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = kConnTokenBase + id;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c->fd, &ev);
  if (c->state != ConnState::kAwaitingConnectLine) {
    by_key_[{c->local_port, c->peer_port}] = id;
  }
  conns_.emplace(id, std::move(c));
  return id;
}

void Muxer::remove(std::uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Connection& c = *it->second;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  auto key = by_key_.find({c.local_port, c.peer_port});
  if (key != by_key_.end() && key->second == id) by_key_.erase(key);
  if (c.host_initiated) host_ports_in_use_.erase(c.local_port);
  conns_.erase(it);
}

void Muxer::reset_and_remove(std::uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  if (it->second->state != ConnState::kAwaitingConnectLine) {
    queue_control(it->second->local_port, it->second->peer_port, Op::kRst);
  }
  remove(id);
}

void Muxer::queue_control(std::uint32_t local, std::uint32_t peer, Op op, std::uint32_t flags) {
  if (control_.size() >= limits_.max_control_backlog) {
    control_.pop_front();  // oldest first: a stuck guest cannot grow this
    ++stats_.control_dropped;
  }
  if (op == Op::kRst) ++stats_.resets_sent;
  control_.push_back({local, peer, op, flags});
}

Header Muxer::make_header(std::uint32_t local, std::uint32_t peer, Op op) const {
  Header h;
  h.src_cid = kHostCid;
  h.dst_cid = guest_cid_;
  h.src_port = local;
  h.dst_port = peer;
  h.type = kTypeStream;
  h.op = static_cast<std::uint16_t>(op);
  h.buf_alloc = limits_.buf_alloc;
  return h;
}

std::size_t Muxer::pending_count() const {
  return static_cast<std::size_t>(std::count_if(conns_.begin(), conns_.end(), [](const auto& e) {
    return e.second->state == ConnState::kAwaitingConnectLine ||
           e.second->state == ConnState::kConnecting;
  }));
}

std::uint32_t Muxer::allocate_local_port(std::uint32_t peer_port) {
  for (;;) {
    const std::uint32_t port = next_local_port_++;
    if (next_local_port_ == 0xffffffffu) next_local_port_ = 1u << 30;
    if (!host_ports_in_use_.contains(port) && !by_key_.contains({port, peer_port})) {
      host_ports_in_use_.insert(port);
      return port;
    }
  }
}

void Muxer::handle_event(std::uint64_t token, std::uint32_t events) {
  if (token == kListenerToken) {
    accept_clients();
    return;
  }
  if (token < kConnTokenBase) return;
  const std::uint64_t id = token - kConnTokenBase;
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Connection& c = *it->second;
  if (c.state == ConnState::kAwaitingConnectLine) {
    on_connect_line(id, c);
    return;
  }
  const bool hangup = (events & (EPOLLHUP | EPOLLERR)) != 0;
  if (hangup && (c.host_eof || c.state == ConnState::kConnecting)) {
    reset_and_remove(id);  // nothing left to read, nobody left to write to
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c.readable = true;
  if (events & EPOLLOUT) on_host_writable(id, c);
}

void Muxer::handle_guest_packet(const Header& h, std::span<const std::byte> payload) {
  ++stats_.packets_from_guest;
  const auto op = op_of(h);
  if (h.src_cid != guest_cid_ || h.dst_cid != kHostCid || h.type != kTypeStream || !op ||
      h.len != payload.size()) {
    ++stats_.malformed_dropped;
    return;
  }
  if (*op == Op::kRequest) {
    on_guest_request(h);
    return;
  }
  auto key = by_key_.find({h.dst_port, h.src_port});
  if (key == by_key_.end()) {
    if (*op != Op::kRst) queue_control(h.dst_port, h.src_port, Op::kRst);
    return;
  }
  const std::uint64_t id = key->second;
  Connection& c = *conns_.at(id);
  c.peer_buf_alloc = h.buf_alloc;
  c.peer_fwd_cnt = h.fwd_cnt;
  switch (*op) {
    case Op::kResponse: {
      if (c.state != ConnState::kConnecting) {
        reset_and_remove(id);
        return;
      }
      c.state = ConnState::kEstablished;
      const std::string ok = "OK " + std::to_string(c.local_port) + "\n";
      if (::send(c.fd, ok.data(), ok.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(ok.size())) {
        reset_and_remove(id);
      }
      return;
    }
    case Op::kRst:
      remove(id);
      return;
    case Op::kShutdown:
      if (h.flags & kShutdownSend) c.guest_shut_send = true;
      if (h.flags & kShutdownRcv) c.guest_shut_rcv = true;
      if (c.guest_shut_send && c.guest_shut_rcv && c.state != ConnState::kClosing) {
        c.state = ConnState::kClosing;
        // A host client that never reads must not pin the connection.
        c.deadline = Connection::Clock::now() + limits_.guest_accept_timeout;
      }
      maybe_finish_closing(id, c);
      return;
    case Op::kRw:
      if (c.state != ConnState::kEstablished || c.guest_shut_send) {
        reset_and_remove(id);
        return;
      }
      on_guest_data(id, c, payload);
      return;
    case Op::kCreditRequest:
      c.credit_update_pending = true;
      return;
    case Op::kCreditUpdate:
    case Op::kRequest:
    case Op::kInvalid:
      return;
  }
}

void Muxer::on_guest_data(std::uint64_t id, Connection& c, std::span<const std::byte> payload) {
  if (payload.size() > c.guest_credit(limits_.buf_alloc)) {
    // The guest ignored our credit; refusing keeps host memory bounded.
    ++stats_.credit_violations;
    reset_and_remove(id);
    return;
  }
  if (c.host_bound_offset > 0 && c.host_bound_offset == c.host_bound.size()) {
    c.host_bound.clear();
    c.host_bound_offset = 0;
  }
  c.host_bound.insert(c.host_bound.end(), payload.begin(), payload.end());
  if (!flush_host_bound(c)) reset_and_remove(id);
}

bool Muxer::flush_host_bound(Connection& c) {
  while (c.writable && c.host_bound_pending() > 0) {
    const ssize_t n = ::send(c.fd, c.host_bound.data() + c.host_bound_offset,
                             c.host_bound_pending(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        c.writable = false;
        break;
      }
      return false;
    }
    c.host_bound_offset += static_cast<std::size_t>(n);
    c.fwd_cnt += static_cast<std::uint32_t>(n);
    stats_.bytes_to_host += static_cast<std::uint64_t>(n);
  }
  if (c.host_bound_pending() == 0) {
    c.host_bound.clear();
    c.host_bound_offset = 0;
  } else if (c.host_bound_offset >= limits_.buf_alloc) {
    c.host_bound.erase(c.host_bound.begin(),
                       c.host_bound.begin() + static_cast<std::ptrdiff_t>(c.host_bound_offset));
    c.host_bound_offset = 0;
  }
  // Tell the guest about freed space before it runs dry.
  if (c.fwd_cnt - c.last_fwd_cnt_sent >= limits_.buf_alloc / 4) c.credit_update_pending = true;
  if (c.guest_shut_send && c.host_bound_pending() == 0) ::shutdown(c.fd, SHUT_WR);
  return true;
}

void Muxer::on_host_writable(std::uint64_t id, Connection& c) {
  c.writable = true;
  if (!flush_host_bound(c)) {
    reset_and_remove(id);
    return;
  }
  maybe_finish_closing(id, c);
}

void Muxer::maybe_finish_closing(std::uint64_t id, Connection& c) {
  if (c.state == ConnState::kClosing && c.host_bound_pending() == 0) reset_and_remove(id);
}

bool Muxer::sends_data(const Connection& c) const {
  return c.state == ConnState::kEstablished && c.readable && !c.host_eof && !c.guest_shut_rcv &&
         c.peer_credit() > 0;
}

bool Muxer::has_rx_work() const {
  if (!control_.empty()) return true;
  return std::any_of(conns_.begin(), conns_.end(), [this](const auto& e) {
    return e.second->credit_update_pending || sends_data(*e.second);
  });
}

std::size_t Muxer::fill_rx(std::span<std::byte> out) {
  if (out.size() < kHeaderSize) return 0;
  auto header_out = out.first<kHeaderSize>();
  if (!control_.empty()) {
    const Control ctl = control_.front();
    control_.pop_front();
    Header h = make_header(ctl.local_port, ctl.peer_port, ctl.op);
    h.flags = ctl.flags;
    auto key = by_key_.find({ctl.local_port, ctl.peer_port});
    if (key != by_key_.end()) {
      Connection& c = *conns_.at(key->second);
      h.fwd_cnt = c.fwd_cnt;
      c.last_fwd_cnt_sent = c.fwd_cnt;
      c.credit_update_pending = false;
    }
    encode_header(h, header_out);
    return kHeaderSize;
  }
  // Round robin over connections, starting after the last one served.
  std::vector<std::uint64_t> order;
  order.reserve(conns_.size());
  for (auto it = conns_.upper_bound(rr_cursor_); it != conns_.end(); ++it) {
    order.push_back(it->first);
  }
  for (auto it = conns_.begin(); it != conns_.end() && it->first <= rr_cursor_; ++it) {
    order.push_back(it->first);
  }
  for (const std::uint64_t id : order) {
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    if (sends_data(*it->second)) {
      const std::size_t n = fill_data(id, *it->second, out);
      if (n > 0) {
        rr_cursor_ = id;
        return n;
      }
      // fill_data may have closed the connection and queued RST/SHUTDOWN.
      if (!control_.empty()) return fill_rx(out);
      it = conns_.find(id);
      if (it == conns_.end()) continue;
    }
    Connection& c = *it->second;
    if (c.credit_update_pending && c.state == ConnState::kEstablished) {
      Header h = make_header(c.local_port, c.peer_port, Op::kCreditUpdate);
      h.fwd_cnt = c.fwd_cnt;
      c.last_fwd_cnt_sent = c.fwd_cnt;
      c.credit_update_pending = false;
      encode_header(h, header_out);
      rr_cursor_ = id;
      return kHeaderSize;
    }
    c.credit_update_pending = false;
  }
  return 0;
}

std::size_t Muxer::fill_data(std::uint64_t id, Connection& c, std::span<std::byte> out) {
  const std::size_t room =
      std::min<std::size_t>({out.size() - kHeaderSize, c.peer_credit(), limits_.max_payload});
  if (room == 0) return 0;
  const ssize_t n = ::read(c.fd, out.data() + kHeaderSize, room);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) {
      c.readable = errno == EINTR;
      return 0;
    }
    reset_and_remove(id);
    return 0;
  }
  if (n == 0) {
    if (peer_fully_closed(c.fd)) {
      reset_and_remove(id);  // the host client is gone
    } else {
      c.host_eof = true;  // half-close: the guest can still send to it
      queue_control(c.local_port, c.peer_port, Op::kShutdown, kShutdownSend);
    }
    return 0;
  }
  Header h = make_header(c.local_port, c.peer_port, Op::kRw);
  h.len = static_cast<std::uint32_t>(n);
  h.fwd_cnt = c.fwd_cnt;
  c.last_fwd_cnt_sent = c.fwd_cnt;
  c.credit_update_pending = false;
  c.rx_cnt += static_cast<std::uint32_t>(n);
  stats_.bytes_to_guest += static_cast<std::uint64_t>(n);
  encode_header(h, out.first<kHeaderSize>());
  return kHeaderSize + static_cast<std::size_t>(n);
}

std::vector<ConnectionState> Muxer::save() const {
  std::vector<ConnectionState> out;
  for (const auto& [id, c] : conns_) {
    if (c->state == ConnState::kAwaitingConnectLine) continue;
    out.push_back({c->local_port, c->peer_port, c->state, c->fwd_cnt, c->last_fwd_cnt_sent,
                   c->rx_cnt, c->peer_buf_alloc, c->peer_fwd_cnt, c->host_bound_pending(),
                   c->host_eof, c->guest_shut_send, c->guest_shut_rcv});
  }
  return out;
}

}  // namespace voidbox::kvm::vsock
