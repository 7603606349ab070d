// The userspace virtio-vsock device (virtio 1.2 §5.10): three queues (rx, tx,
// event), the guest CID in config space, and an epoll event-loop thread that
// moves packets between the queues and the host Unix sockets (see Muxer for
// the host-side convention).
//
// Threads: Device methods come from the transport (serialised by it).
// queue_notify() only wakes the loop through an eventfd; all queue and socket
// work happens on the loop thread, which is started by activate() and joined
// by reset()/the destructor. Where the VMM has KVM ioeventfds it hands them
// over (NotifyEventSink) and the loop waits on the guest's notifies directly.
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "voidbox/virtio/device.hpp"
#include "vsock_muxer.hpp"

namespace voidbox::kvm::vsock {

struct VsockConfig {
  std::uint64_t guest_cid = 3;
  std::string uds_path;  // host clients connect here; guest->host goes to <uds_path>_<port>
  Limits limits;
  std::uint16_t queue_size = 256;
};

// What a snapshot needs: queue positions and the connection table.
struct VsockDeviceState {
  std::uint64_t guest_cid = 0;
  std::uint64_t driver_features = 0;
  std::vector<virtio::QueueState> queues;
  std::vector<ConnectionState> connections;
};

struct VsockDeviceStats {
  std::uint64_t tx_malformed = 0;  // chains too short or with a bad len
  std::uint64_t rx_packets = 0;
  MuxerStats muxer;
};

class VsockDevice final : public virtio::Device, public virtio::NotifyEventSink {
 public:
  static constexpr std::uint16_t kRxQueue = 0;
  static constexpr std::uint16_t kTxQueue = 1;
  static constexpr std::uint16_t kEventQueue = 2;

  // Binds the listening socket at config.uds_path (replacing a stale one).
  static std::expected<std::unique_ptr<VsockDevice>, std::string> create(VsockConfig config);
  ~VsockDevice() override;

  std::uint32_t device_type() const override { return virtio::kDeviceIdVsock; }
  std::span<const std::uint16_t> queue_max_sizes() const override { return max_sizes_; }
  std::uint64_t device_features() const override;
  void ack_features(std::uint64_t features) override { driver_features_ = features; }
  std::uint32_t config_size() const override { return 8; }
  void read_config(std::uint32_t offset, std::span<std::byte> out) const override;
  void write_config(std::uint32_t, std::span<const std::byte>) override {}
  std::expected<void, std::string> activate(const virtio::ActivateParams& params) override;
  void queue_notify(std::uint16_t queue) override;
  void reset() override;
  bool adopt_notify_fds(std::span<const int> fds) override;

  VsockDeviceState save_state() const;
  VsockDeviceStats stats() const;
  const std::string& uds_path() const { return config_.uds_path; }

 private:
  explicit VsockDevice(VsockConfig config);
  void stop_worker();
  void run();
  void process_tx();
  void process_rx();
  void signal_queues();
  void fail();

  VsockConfig config_;
  std::vector<std::uint16_t> max_sizes_;
  int listener_fd_ = -1;
  int epoll_fd_ = -1;
  int kick_fd_ = -1;
  std::vector<int> notify_fds_;  // borrowed from the VMM (its ioeventfds)
  std::uint64_t driver_features_ = 0;

  // Owned by the loop thread while it runs; mutex_ lets save_state()/stats()
  // look at them between iterations.
  mutable std::mutex mutex_;
  std::optional<virtio::GuestMemory> memory_;
  std::vector<virtio::Virtqueue> queues_;
  std::unique_ptr<Muxer> muxer_;
  virtio::Interrupt* interrupt_ = nullptr;
  std::vector<std::byte> scratch_;
  VsockDeviceStats stats_;
  bool broken_ = false;

  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace voidbox::kvm::vsock
