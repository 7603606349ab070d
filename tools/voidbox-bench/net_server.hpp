// The host side of `voidbox-bench net`: one TCP listener on 127.0.0.1 (the
// address a user-mode network's gateway, 10.0.2.2, leads to), served on a
// thread of its own. Every connection starts with a 64-byte request line
// from the guest client (tests/vm/net-bench/net_bench_guest.c):
//   "send"       the guest streams until EOF; the reply is the byte count
//   "recv BYTES" the server streams BYTES bytes, then closes
//   "crr"        a 64-byte reply, then close
// Connections are served one at a time: the client runs one at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace voidbox::bench {

class NetServer {
 public:
  // Listens on 127.0.0.1 on a port the kernel picks; nullopt (and `error`)
  // if it cannot.
  static std::optional<NetServer> start(std::string& error);
  NetServer(NetServer&& other) noexcept;
  NetServer& operator=(NetServer&&) = delete;
  NetServer(const NetServer&) = delete;
  ~NetServer();

  std::uint16_t port() const { return port_; }
  // Connections that broke the protocol (a bad request, a short stream).
  int protocol_errors() const { return state_->errors.load(); }

 private:
  struct State {
    int listener = -1;
    int stop_pipe[2] = {-1, -1};
    std::atomic<int> errors{0};
    std::mutex active_mutex;
    int active = -1;  // the connection being served, shut down on stop
  };
  NetServer() = default;
  static void serve(State& state);
  static void serve_one(State& state, int conn);

  std::uint16_t port_ = 0;
  std::unique_ptr<State> state_;
  std::thread thread_;
};

}  // namespace voidbox::bench
