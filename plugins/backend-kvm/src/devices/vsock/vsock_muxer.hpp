// The connection table of the userspace vsock device: turns guest packets
// into host socket I/O and host socket events into packets for the guest.
// It knows nothing about virtqueues: the device feeds it parsed TX packets
// and asks it to fill RX buffers, so it can be tested and fuzzed alone.
//
// Host side (Firecracker's hybrid convention): clients connect to the Unix
// socket `uds_path`, write "CONNECT <port>\n" and get "OK <host_port>\n" once
// the guest accepts (or a closed socket if it refuses). A guest connection to
// host port P is forwarded to the Unix socket "<uds_path>_P".
//
// Single-threaded: used only from the device's event-loop thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "vsock_connection.hpp"
#include "vsock_packet.hpp"

namespace voidbox::kvm::vsock {

struct Limits {
  std::uint32_t buf_alloc = 256 * 1024;  // host-bound buffer per connection
  std::size_t max_connections = 256;
  std::size_t max_pending = 128;           // handshakes in progress
  std::size_t max_control_backlog = 4096;  // queued control packets to the guest
  std::uint32_t max_payload = 64 * 1024;   // per packet, both directions
  std::chrono::milliseconds connect_line_timeout{2000};
  std::chrono::milliseconds guest_accept_timeout{5000};
};

struct MuxerStats {
  std::uint64_t packets_from_guest = 0;
  std::uint64_t malformed_dropped = 0;  // bad cid, type or op
  std::uint64_t resets_sent = 0;
  std::uint64_t credit_violations = 0;
  std::uint64_t control_dropped = 0;  // backlog overflow
  std::uint64_t bytes_to_host = 0;
  std::uint64_t bytes_to_guest = 0;
};

class Muxer {
 public:
  // `epoll_fd` is the device loop's; the muxer registers its sockets there
  // with epoll_data.u64 = kConnTokenBase + id (connections) or kListenerToken.
  static constexpr std::uint64_t kListenerToken = 1;
  static constexpr std::uint64_t kConnTokenBase = 1ull << 32;

  Muxer(std::uint64_t guest_cid, int listener_fd, std::string uds_path, int epoll_fd,
        Limits limits = {});
  ~Muxer();
  Muxer(const Muxer&) = delete;
  Muxer& operator=(const Muxer&) = delete;

  // A packet the guest put on the TX queue (payload already bounded).
  void handle_guest_packet(const Header& header, std::span<const std::byte> payload);
  // An epoll event for a token this muxer registered.
  void handle_event(std::uint64_t token, std::uint32_t events);
  // Expires handshakes; returns the epoll timeout until the next deadline.
  int handle_timeouts();

  // Whether fill_rx() would produce a packet given a buffer.
  bool has_rx_work() const;
  // Writes the next packet for the guest (header + payload) into `out`,
  // whose size is at least kHeaderSize; returns its length, or 0 if none.
  std::size_t fill_rx(std::span<std::byte> out);

  // Closes every connection (device reset); the guest is gone, so no RSTs.
  void clear();
  std::vector<ConnectionState> save() const;
  std::size_t connection_count() const { return conns_.size(); }
  const MuxerStats& stats() const { return stats_; }
  const Limits& limits() const { return limits_; }

 private:
  struct Control {
    std::uint32_t local_port;
    std::uint32_t peer_port;
    Op op;
    std::uint32_t flags;
  };
  using Key = std::pair<std::uint32_t, std::uint32_t>;  // local, peer

  void accept_clients();
  void on_connect_line(std::uint64_t id, Connection& c);
  void on_guest_request(const Header& h);
  void on_host_writable(std::uint64_t id, Connection& c);
  void on_guest_data(std::uint64_t id, Connection& c, std::span<const std::byte> payload);
  bool flush_host_bound(Connection& c);  // false on a fatal socket error
  void maybe_finish_closing(std::uint64_t id, Connection& c);
  std::size_t fill_data(std::uint64_t id, Connection& c, std::span<std::byte> out);

  std::uint64_t add_connection(std::unique_ptr<Connection> c);
  void remove(std::uint64_t id);
  void reset_and_remove(std::uint64_t id);
  void queue_control(std::uint32_t local, std::uint32_t peer, Op op, std::uint32_t flags = 0);
  Header make_header(std::uint32_t local, std::uint32_t peer, Op op) const;
  std::uint32_t allocate_local_port(std::uint32_t peer_port);
  std::size_t pending_count() const;
  bool sends_data(const Connection& c) const;

  std::uint64_t guest_cid_;
  int listener_fd_;
  std::string uds_path_;
  int epoll_fd_;
  Limits limits_;
  std::map<std::uint64_t, std::unique_ptr<Connection>> conns_;
  std::map<Key, std::uint64_t> by_key_;
  std::set<std::uint32_t> host_ports_in_use_;
  std::deque<Control> control_;
  std::uint64_t next_id_ = 1;
  std::uint64_t rr_cursor_ = 0;
  std::uint32_t next_local_port_ = 1u << 30;
  MuxerStats stats_;
};

}  // namespace voidbox::kvm::vsock
