// The "slirp" transport: guest frames from the device run through the
// egress filter, and those it passes reach libslirp; libslirp's frames and
// the filter's own answers go to the device.
//
// Threads: the device calls port()->send from its thread; that only copies
// the frame into a bounded queue and wakes the loop. Everything else (the
// filter, the policy resolver, libslirp) lives on the transport's one loop
// thread, started by start() and joined by the destructor, which also
// closes every socket. describe() reads a snapshot under a lock.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "filter/frame_filter.hpp"
#include "transport/frame_queue.hpp"
#include "transport/slirp_stack.hpp"
#include "transport/transport_config.hpp"
#include "transport/transport_status.hpp"
#include "transport/upstream_resolver.hpp"
#include "voidbox/sdk/transport.hpp"
#include "voidbox/sdk/unique_fd.hpp"

namespace voidbox::net {

class SlirpTransport final : public sdk::Transport {
 public:
  // Attempts at picking a free port for a host_port 0 forward, which can
  // lose a race against another process between probe and listen.
  static constexpr int kPortPickAttempts = 5;

  static sdk::Result<std::unique_ptr<SlirpTransport>> create(std::string_view config_json,
                                                             const vb_frame_port& to_guest);
  ~SlirpTransport() override;

  const vb_frame_port* port() noexcept override { return &port_; }
  sdk::Result<> start() override;
  std::string describe() override { return status_.describe(); }

 private:
  SlirpTransport(TransportConfig config, const vb_frame_port& to_guest, sdk::UniqueFd wake);
  static vb_status receive(void* ctx, const std::uint8_t* frame, size_t len);
  void send_to_guest(std::span<const std::uint8_t> frame);
  void on_denial(const Denial& denial);
  sdk::Result<PortForward> add_forward(const PortForward& forward);
  void run();
  bool drain_queue();

  TransportConfig config_;
  vb_frame_port to_guest_;
  vb_frame_port port_;
  sdk::UniqueFd wake_;  // eventfd: frames queued, or stop
  FrameQueue queue_;
  TransportStatus status_;
  std::atomic<bool> stopping_{false};
  // Declared in the order they may be destroyed in reverse: the filter
  // holds the resolver, libslirp's callbacks reach the filter's hooks.
  std::unique_ptr<UpstreamResolver> resolver_;
  std::unique_ptr<FrameFilter> filter_;
  std::unique_ptr<SlirpStack> stack_;
  std::vector<FrameQueue::Frame> batch_;
  std::thread thread_;
};

}  // namespace voidbox::net
