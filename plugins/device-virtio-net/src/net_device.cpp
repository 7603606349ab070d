#include "net_device.hpp"

#include "net_counters.hpp"

namespace voidbox::net {

using virtio::GuestMemory;

std::expected<std::unique_ptr<NetDevice>, std::string> NetDevice::create(std::string_view json) {
  auto cfg = parse_net_config(json);
  if (!cfg) return std::unexpected(cfg.error());
  return std::make_unique<NetDevice>(*cfg);
}

NetDevice::NetDevice(const NetConfig& config)
    : cfg_(config),
      port_{sizeof(vb_frame_port), this, &NetDevice::port_send},
      counters_(std::make_unique<Counters>()),
      tx_buf_(new std::byte[kMaxTsoFrame]),
      seg_buf_(new std::byte[std::size_t{config.mtu} + kEthHeader + kVlanTag]),
      rx_chains_(kQueueMaxSize),
      backlog_(config.rx_backlog_frames, kRxBacklogBytes) {
  std::byte* p = config_space_.data();
  for (std::size_t i = 0; i < cfg_.mac.size(); ++i) p[i] = std::byte{cfg_.mac[i]};
  GuestMemory::store_le<std::uint16_t>(p + 6, kLinkUp);
  GuestMemory::store_le<std::uint16_t>(p + 8, 1);  // max_virtqueue_pairs
  GuestMemory::store_le<std::uint16_t>(p + 10, cfg_.mtu);
}

NetDevice::~NetDevice() {
  reset();
  set_peer(nullptr);
}

std::uint64_t NetDevice::device_features() const {
  return virtio::kFeatureVersion1 | virtio::kFeatureEventIdx | virtio::kFeatureIndirectDesc |
         kFeatureMac | kFeatureMtu | kFeatureStatus | kFeatureMrgRxbuf | kFeatureCsum |
         kFeatureGuestCsum | kFeatureHostTso4 | kFeatureHostEcn;
}

void NetDevice::read_config(std::uint32_t offset, std::span<std::byte> out) const {
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = offset + i < config_space_.size() ? config_space_[offset + i] : std::byte{0};
  }
}

std::expected<void, std::string> NetDevice::activate(const virtio::ActivateParams& params) {
  if (params.queues.size() != 2) {
    return std::unexpected(std::string("virtio-net has two queues (rx, tx)"));
  }
  virtio::Virtqueue rx(kQueueMaxSize), tx(kQueueMaxSize);
  rx.set_config(params.queues[kRxQueue]);
  tx.set_config(params.queues[kTxQueue]);
  if (auto r = rx.activate(params.memory, params.driver_features); !r) {
    return std::unexpected(std::string("virtio-net rx queue: ") + virtio::to_string(r.error()));
  }
  if (auto r = tx.activate(params.memory, params.driver_features); !r) {
    return std::unexpected(std::string("virtio-net tx queue: ") + virtio::to_string(r.error()));
  }
  const std::uint64_t f = params.driver_features;
  tx_queue_.emplace(std::move(tx));
  tx_broken_ = false;
  tx_tso_limit_ = (f & kFeatureHostTso4) ? kMaxTsoFrame : 0;
  tx_ecn_ = (f & kFeatureHostEcn) != 0;
  std::lock_guard lock(rx_mutex_);
  interrupt_ = &params.interrupt;
  rx_queue_.emplace(std::move(rx));
  rx_mergeable_ = (f & kFeatureMrgRxbuf) != 0;
  // Frames from the transport carry complete checksums.
  rx_hdr_flags_ = (f & kFeatureGuestCsum) ? kHdrFlagDataValid : 0;
  rx_held_ = 0;
  rx_held_bytes_ = 0;
  rx_pending_signal_ = false;
  backlog_.clear();
  rx_active_ = true;
  return {};
}

void NetDevice::reset() {
  {
    std::lock_guard lock(rx_mutex_);
    rx_active_ = false;
    rx_queue_.reset();
    rx_held_ = 0;
    rx_held_bytes_ = 0;
    backlog_.clear();
    interrupt_ = nullptr;
  }
  tx_queue_.reset();
  tx_broken_ = false;
  tx_tso_limit_ = 0;
  tx_ecn_ = false;
  features_ = 0;
}

void NetDevice::queue_notify(std::uint16_t queue) {
  if (queue == kTxQueue) {
    std::lock_guard lock(peer_mutex_);
    tx_batch();
  } else if (queue == kRxQueue) {
    // The guest posted buffers: frames waiting for them go first.
    std::lock_guard lock(rx_mutex_);
    if (!rx_active_) return;
    rx_drain();
    rx_signal();
  }
}

void NetDevice::set_peer(const vb_frame_port* peer) {
  const bool usable =
      peer != nullptr && peer->struct_size >= sizeof(vb_frame_port) && peer->send != nullptr;
  // Waits for a TX batch in flight: after this no thread is in the old peer.
  std::lock_guard lock(peer_mutex_);
  peer_ = usable ? peer : nullptr;
}

NetCounters NetDevice::counters() const {
  NetCounters c;
#define VB_NET_COPY(name) c.name = counters_->name.load(std::memory_order_relaxed);
  VB_NET_COUNTERS(VB_NET_COPY)
#undef VB_NET_COPY
  return c;
}

}  // namespace voidbox::net
