// One vsock stream between a host Unix-socket client and a guest socket, with
// the credit accounting of virtio 1.2 §5.10.6.3:
//  - towards the host we own a buffer of kBufAlloc bytes; the guest may have
//    at most kBufAlloc bytes in flight beyond what we forwarded (fwd_cnt);
//  - towards the guest we may send at most peer_buf_alloc - (rx_cnt -
//    peer_fwd_cnt) bytes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace voidbox::kvm::vsock {

enum class ConnState : std::uint8_t {
  kAwaitingConnectLine,  // host client accepted; reading "CONNECT <port>\n"
  kConnecting,           // REQUEST sent to the guest; waiting for RESPONSE
  kEstablished,
  kClosing,  // the guest shut both ways; flushing host-bound data, then RST
};

struct Connection {
  using Clock = std::chrono::steady_clock;

  Connection(int socket_fd, std::uint32_t local, std::uint32_t peer, ConnState initial)
      : fd(socket_fd), local_port(local), peer_port(peer), state(initial) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Bytes the guest may still send before our buffer is full.
  std::uint32_t guest_credit(std::uint32_t buf_alloc) const {
    const std::size_t held = host_bound.size() - host_bound_offset;
    return held >= buf_alloc ? 0 : buf_alloc - static_cast<std::uint32_t>(held);
  }
  // Bytes we may still send to the guest.
  std::uint32_t peer_credit() const {
    const std::uint32_t in_flight = rx_cnt - peer_fwd_cnt;
    return in_flight >= peer_buf_alloc ? 0 : peer_buf_alloc - in_flight;
  }
  std::size_t host_bound_pending() const { return host_bound.size() - host_bound_offset; }

  int fd;
  std::uint32_t local_port;  // the host side's port
  std::uint32_t peer_port;   // the guest side's port
  ConnState state;
  Clock::time_point deadline{};  // for the handshake and closing states
  bool host_initiated = false;   // local_port was allocated by us
  std::string connect_line;      // kAwaitingConnectLine only, bounded

  bool readable = false;  // edge-triggered: set by EPOLLIN, cleared by EAGAIN
  bool writable = true;
  bool host_eof = false;         // the host client will send no more
  bool guest_shut_send = false;  // the guest will send no more
  bool guest_shut_rcv = false;   // the guest will receive no more
  bool credit_update_pending = false;

  // Host-bound bytes not yet written to fd (bounded by buf_alloc).
  std::vector<std::byte> host_bound;
  std::size_t host_bound_offset = 0;

  std::uint32_t fwd_cnt = 0;            // bytes forwarded to the host client
  std::uint32_t last_fwd_cnt_sent = 0;  // fwd_cnt the guest last saw
  std::uint32_t rx_cnt = 0;             // bytes sent to the guest
  std::uint32_t peer_buf_alloc = 0;
  std::uint32_t peer_fwd_cnt = 0;
};

// What a later snapshot needs to know about a connection.
struct ConnectionState {
  std::uint32_t local_port = 0;
  std::uint32_t peer_port = 0;
  ConnState state = ConnState::kEstablished;
  std::uint32_t fwd_cnt = 0;
  std::uint32_t last_fwd_cnt_sent = 0;
  std::uint32_t rx_cnt = 0;
  std::uint32_t peer_buf_alloc = 0;
  std::uint32_t peer_fwd_cnt = 0;
  std::uint64_t host_bound_pending = 0;
  bool host_eof = false;
  bool guest_shut_send = false;
  bool guest_shut_rcv = false;
};

}  // namespace voidbox::kvm::vsock
