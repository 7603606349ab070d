// One libslirp instance and what it needs from an event loop: its sockets in
// a poll(2) set, its timers, a clock. libslirp is not thread-safe: whoever
// owns a SlirpStack calls it from one thread at a time (the transport: its
// loop thread, after start() handed it over).
#pragma once

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "transport/transport_config.hpp"
#include "voidbox/sdk/error.hpp"

struct Slirp;

namespace voidbox::net {

class SlirpStack {
 public:
  struct Hooks {
    std::function<void(std::span<const std::uint8_t>)> to_guest;
    std::function<void(std::string_view)> guest_error;
  };

  // The network of QEMU's -netdev user: 10.0.2.0/24, the host (and its
  // loopback) at 10.0.2.2, DNS at 10.0.2.3, IPv6 off.
  static sdk::Result<std::unique_ptr<SlirpStack>> create(std::size_t mtu, Hooks hooks);
  ~SlirpStack();
  SlirpStack(const SlirpStack&) = delete;
  SlirpStack& operator=(const SlirpStack&) = delete;

  void input(std::span<const std::uint8_t> frame);
  // Listens on forward.host_address:host_port (which must not be 0) and
  // connects what arrives to 10.0.2.15:guest_port.
  sdk::Result<> add_forward(const PortForward& forward);

  // Appends libslirp's sockets to `fds` and lowers `timeout_ms` (-1: none)
  // to what libslirp's timers and TCP timeouts need.
  void fill(std::vector<pollfd>& fds, int& timeout_ms);
  // After poll on the same `fds`: lets libslirp handle its sockets (the
  // entries fill added) and runs the timers that are due.
  void dispatch(std::vector<pollfd>& fds, bool poll_failed);

 private:
  struct Timer;
  explicit SlirpStack(Hooks hooks);
  static std::int64_t now_ms();
  void run_due_timers();

  Hooks hooks_;
  Slirp* slirp_ = nullptr;
  std::vector<std::unique_ptr<Timer>> timers_;
  std::vector<pollfd>* filling_ = nullptr;  // during fill and dispatch only
  std::size_t base_ = 0;                    // where fill's entries start
  friend struct SlirpCallbacks;
};

}  // namespace voidbox::net
