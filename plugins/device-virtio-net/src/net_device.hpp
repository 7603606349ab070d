// virtio-net (virtio 1.2 §5.1): one rx/tx queue pair, a MAC, an MTU, link
// status, mergeable rx buffers, checksum offload both ways and TCP/IPv4
// segmentation offload (with ECN) from the guest.
//
// Frames cross to the host world through vb_frame_port (voidbox/abi/
// transport.h): guest frames go to the peer set with set_peer(), and the
// peer (a transport's thread) hands frames for the guest to frame_port().
//
// Threading. The host serialises the Device calls (queue_notify, activate,
// reset, config). TX runs entirely inside queue_notify(tx) and holds the
// peer lock for the whole batch, so set_peer() waits for a batch in flight
// and set_peer(NULL) returns only once no peer->send is running. RX runs on
// whichever thread calls frame_port()->send, and inside queue_notify(rx)
// when the guest refills the ring; the rx lock guards the rx queue, the
// chains the device holds, and the backlog of frames that found no buffer.
// reset() takes the rx lock, so no sender touches guest memory after it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net_config.hpp"
#include "net_offload.hpp"
#include "rx_backlog.hpp"
#include "voidbox/abi/transport.h"
#include "voidbox/virtio/device.hpp"

namespace voidbox::net {

// virtio-net feature bits (virtio 1.2 §5.1.3).
inline constexpr std::uint64_t kFeatureCsum = 1ull << 0;
inline constexpr std::uint64_t kFeatureGuestCsum = 1ull << 1;
inline constexpr std::uint64_t kFeatureMtu = 1ull << 3;
inline constexpr std::uint64_t kFeatureMac = 1ull << 5;
inline constexpr std::uint64_t kFeatureGuestTso4 = 1ull << 7;
inline constexpr std::uint64_t kFeatureHostTso4 = 1ull << 11;
inline constexpr std::uint64_t kFeatureHostEcn = 1ull << 13;
inline constexpr std::uint64_t kFeatureMrgRxbuf = 1ull << 15;
inline constexpr std::uint64_t kFeatureStatus = 1ull << 16;

inline constexpr std::uint16_t kRxQueue = 0;
inline constexpr std::uint16_t kTxQueue = 1;
inline constexpr std::uint16_t kQueueMaxSize = 256;
inline constexpr std::uint16_t kLinkUp = 1;
inline constexpr std::uint32_t kConfigSize = 12;  // mac, status, max_virtqueue_pairs, mtu
// The largest TCP/IPv4 super-packet a TSO chain may carry (IP's 64 KiB limit
// plus an Ethernet header and one VLAN tag).
inline constexpr std::size_t kMaxTsoFrame = 65535 + kEthHeader + kVlanTag;
inline constexpr std::size_t kRxBacklogBytes = 1 << 20;

struct NetCounters {
  std::uint64_t tx_frames = 0, tx_bytes = 0;  // frames handed to the peer
  std::uint64_t tx_tso_packets = 0;           // super-packets segmented
  std::uint64_t tx_drop_no_peer = 0, tx_drop_peer_busy = 0;
  std::uint64_t tx_drop_oversize = 0;         // chain longer than the bound
  std::uint64_t tx_drop_malformed = 0;        // short header, bad csum offsets, bad GSO headers
  std::uint64_t tx_drop_bad_gso = 0;          // a GSO type that was not negotiated
  std::uint64_t tx_bad_chains = 0;            // descriptor chains the queue rejected
  std::uint64_t rx_frames = 0, rx_bytes = 0;  // frames placed in the guest's ring
  std::uint64_t rx_backlogged = 0;            // frames that waited for buffers
  std::uint64_t rx_drop_not_ready = 0;        // before activate or after a reset
  std::uint64_t rx_drop_oversize = 0;         // longer than MTU + 18, or a runt
  std::uint64_t rx_drop_backlog_full = 0;
  std::uint64_t rx_drop_no_room = 0;  // bigger than the one buffer (no MRG_RXBUF)
  std::uint64_t rx_bad_chains = 0;
};

class NetDevice final : public virtio::Device {
 public:
  static std::expected<std::unique_ptr<NetDevice>, std::string> create(std::string_view json);
  explicit NetDevice(const NetConfig& config);
  ~NetDevice() override;
  NetDevice(const NetDevice&) = delete;
  NetDevice& operator=(const NetDevice&) = delete;

  std::uint32_t device_type() const override { return virtio::kDeviceIdNet; }
  std::span<const std::uint16_t> queue_max_sizes() const override { return queue_sizes_; }
  std::uint64_t device_features() const override;
  void ack_features(std::uint64_t features) override { features_ = features; }
  std::uint32_t config_size() const override { return kConfigSize; }
  void read_config(std::uint32_t offset, std::span<std::byte> out) const override;
  void write_config(std::uint32_t, std::span<const std::byte>) override {}
  std::expected<void, std::string> activate(const virtio::ActivateParams& params) override;
  void queue_notify(std::uint16_t queue) override;
  void reset() override;

  const vb_frame_port* frame_port() { return &port_; }
  void set_peer(const vb_frame_port* peer);

  NetCounters counters() const;
  const NetConfig& config() const { return cfg_; }

 private:
  struct Counters;
  static vb_status port_send(void* ctx, const std::uint8_t* frame, std::size_t len);
  static void tx_sink(void* ctx, std::span<const std::byte> frame);

  // TX (peer lock held).
  void tx_batch();
  void tx_chain(const virtio::DescriptorChain& chain);
  void tx_emit(std::span<const std::byte> frame);

  // RX (rx lock held).
  vb_status rx_frame(std::span<const std::byte> frame);
  enum class Place { kDone, kNoBuffers, kDropped, kBroken };
  // Places the frame a ++ b (a backlogged frame may wrap around the ring).
  Place rx_place(std::span<const std::byte> a, std::span<const std::byte> b);
  bool rx_take_chain();
  void rx_drain();
  void rx_signal();
  void rx_break();

  NetConfig cfg_;
  std::array<std::uint16_t, 2> queue_sizes_{kQueueMaxSize, kQueueMaxSize};
  std::array<std::byte, kConfigSize> config_space_{};
  std::uint64_t features_ = 0;
  vb_frame_port port_;
  std::unique_ptr<Counters> counters_;
  virtio::Interrupt* interrupt_ = nullptr;

  std::mutex peer_mutex_;
  const vb_frame_port* peer_ = nullptr;
  std::optional<virtio::Virtqueue> tx_queue_;
  bool tx_broken_ = false;
  std::uint64_t tx_tso_limit_ = 0;  // chain payload bound for GSO chains (0: not negotiated)
  bool tx_ecn_ = false;
  virtio::DescriptorChain tx_chain_;
  std::unique_ptr<std::byte[]> tx_buf_;   // the linearised chain
  std::unique_ptr<std::byte[]> seg_buf_;  // one TSO segment

  std::mutex rx_mutex_;
  std::optional<virtio::Virtqueue> rx_queue_;
  bool rx_active_ = false;
  bool rx_mergeable_ = false;
  std::uint8_t rx_hdr_flags_ = 0;
  bool rx_pending_signal_ = false;
  std::vector<virtio::DescriptorChain> rx_chains_;  // popped, not yet used
  std::size_t rx_held_ = 0;                         // how many of rx_chains_ are held
  std::uint64_t rx_held_bytes_ = 0;
  RxBacklog backlog_;
};

}  // namespace voidbox::net
