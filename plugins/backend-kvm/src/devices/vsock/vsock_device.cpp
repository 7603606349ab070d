#include "vsock_device.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace voidbox::kvm::vsock {

namespace {

constexpr std::uint64_t kKickToken = 2;
// Queue q's notify eventfd; below the muxer's connection tokens.
constexpr std::uint64_t kNotifyTokenBase = 16;

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

std::expected<std::unique_ptr<VsockDevice>, std::string> VsockDevice::create(VsockConfig config) {
  if (config.guest_cid < 3 || config.guest_cid > 0xfffffffeull) {
    return std::unexpected(std::string("vsock guest cid must be in [3, 2^32-2]"));
  }
  if (config.queue_size == 0 || (config.queue_size & (config.queue_size - 1)) != 0 ||
      config.queue_size > virtio::kMaxQueueSize) {
    return std::unexpected(std::string("vsock queue size must be a power of two"));
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // Leave room for the "_<port>" suffix of guest-initiated connections.
  if (config.uds_path.empty() || config.uds_path.size() + 11 >= sizeof(addr.sun_path)) {
    return std::unexpected(std::string("vsock socket path empty or too long"));
  }
  std::unique_ptr<VsockDevice> dev(new VsockDevice(std::move(config)));
  dev->epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  dev->kick_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (dev->epoll_fd_ < 0 || dev->kick_fd_ < 0) return std::unexpected(errno_text("vsock setup"));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kKickToken;
  if (::epoll_ctl(dev->epoll_fd_, EPOLL_CTL_ADD, dev->kick_fd_, &ev) != 0) {
    return std::unexpected(errno_text("vsock epoll"));
  }
  const std::string& path = dev->config_.uds_path;
  std::memcpy(addr.sun_path, path.data(), path.size());
  ::unlink(path.c_str());
  dev->listener_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (dev->listener_fd_ < 0 ||
      ::bind(dev->listener_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(dev->listener_fd_, 128) != 0) {
    return std::unexpected(errno_text(("vsock socket " + path).c_str()));
  }
  return dev;
}

VsockDevice::VsockDevice(VsockConfig config)
    : config_(std::move(config)), max_sizes_(3, config_.queue_size) {}

VsockDevice::~VsockDevice() {
  // One line in the VMM log: what a broken or reset connection looks like
  // from here is otherwise invisible to whoever reads a failed run.
  if (muxer_) {
    const VsockDeviceStats s = stats();
    std::fprintf(stderr,
                 "voidbox-vmm: vsock: %llu B to host, %llu B to guest, %llu resets sent, "
                 "%llu credit violations, %llu malformed, %llu control dropped%s\n",
                 static_cast<unsigned long long>(s.muxer.bytes_to_host),
                 static_cast<unsigned long long>(s.muxer.bytes_to_guest),
                 static_cast<unsigned long long>(s.muxer.resets_sent),
                 static_cast<unsigned long long>(s.muxer.credit_violations),
                 static_cast<unsigned long long>(s.muxer.malformed_dropped + s.tx_malformed),
                 static_cast<unsigned long long>(s.muxer.control_dropped),
                 broken_ ? "; the device broke (bad queue state from the guest)" : "");
  }
  reset();
  if (listener_fd_ >= 0) {
    ::close(listener_fd_);
    ::unlink(config_.uds_path.c_str());
  }
  if (kick_fd_ >= 0) ::close(kick_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

std::uint64_t VsockDevice::device_features() const {
  return virtio::kFeatureVersion1 | virtio::kFeatureEventIdx | virtio::kFeatureIndirectDesc;
}

void VsockDevice::read_config(std::uint32_t offset, std::span<std::byte> out) const {
  std::byte cid[8];
  virtio::GuestMemory::store_le<std::uint64_t>(cid, config_.guest_cid);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = offset + i < sizeof(cid) ? cid[offset + i] : std::byte{0};
  }
}

std::expected<void, std::string> VsockDevice::activate(const virtio::ActivateParams& params) {
  stop_worker();
  if (params.queues.size() != 3) return std::unexpected(std::string("vsock needs 3 queues"));
  std::lock_guard lock(mutex_);
  driver_features_ = params.driver_features;
  memory_.emplace(params.memory);
  queues_.clear();
  for (std::size_t i = 0; i < 3; ++i) {
    virtio::Virtqueue q(max_sizes_[i]);
    q.set_config(params.queues[i]);
    // The event queue is unused; only rx and tx must be valid.
    if (i != kEventQueue || params.queues[i].size != 0) {
      if (auto r = q.activate(*memory_, params.driver_features); !r) {
        queues_.clear();
        memory_.reset();
        return std::unexpected(std::string("vsock queue ") + std::to_string(i) + ": " +
                               virtio::to_string(r.error()));
      }
    }
    queues_.push_back(std::move(q));
  }
  muxer_ = std::make_unique<Muxer>(config_.guest_cid, listener_fd_, config_.uds_path, epoll_fd_,
                                   config_.limits);
  interrupt_ = &params.interrupt;
  broken_ = false;
  stop_ = false;
  thread_ = std::thread([this] { run(); });
  return {};
}

void VsockDevice::queue_notify(std::uint16_t) {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(kick_fd_, &one, sizeof(one));
}

bool VsockDevice::adopt_notify_fds(std::span<const int> fds) {
  if (!notify_fds_.empty() || thread_.joinable() || fds.size() > max_sizes_.size()) return false;
  for (std::size_t q = 0; q < fds.size(); ++q) {
    if (fds[q] < 0) continue;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kNotifyTokenBase + q;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fds[q], &ev) != 0) {
      for (std::size_t i = 0; i < q; ++i) {
        if (fds[i] >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fds[i], nullptr);
      }
      return false;
    }
  }
  notify_fds_.assign(fds.begin(), fds.end());
  return true;
}

void VsockDevice::stop_worker() {
  if (thread_.joinable()) {
    stop_ = true;
    queue_notify(0);
    thread_.join();
  }
}

void VsockDevice::reset() {
  stop_worker();
  std::lock_guard lock(mutex_);
  muxer_.reset();  // closes every connection
  queues_.clear();
  memory_.reset();
  interrupt_ = nullptr;
  driver_features_ = 0;
}

void VsockDevice::fail() {
  if (!broken_)
    std::fprintf(stderr, "voidbox-vmm: vsock: a virtqueue broke; the device needs a reset\n");
  broken_ = true;
  if (interrupt_ != nullptr) interrupt_->signal_needs_reset();
}

void VsockDevice::run() {
  epoll_event events[64];
  int timeout = -1;
  while (!stop_) {
    const int n = ::epoll_wait(epoll_fd_, events, 64, timeout);
    if (n < 0 && errno != EINTR) {
      std::fprintf(stderr, "voidbox-vmm: vsock: epoll_wait failed (%s); the device stops\n",
                   std::strerror(errno));
      break;
    }
    std::lock_guard lock(mutex_);
    for (int i = 0; i < n; ++i) {
      const std::uint64_t token = events[i].data.u64;
      if (token == kKickToken ||
          (token >= kNotifyTokenBase && token < kNotifyTokenBase + notify_fds_.size())) {
        // A wakeup only: every pass below looks at all queues.
        const int fd = token == kKickToken ? kick_fd_ : notify_fds_[token - kNotifyTokenBase];
        std::uint64_t count;
        [[maybe_unused]] auto r = ::read(fd, &count, sizeof(count));
      } else if (!broken_) {
        muxer_->handle_event(events[i].data.u64, events[i].events);
      }
    }
    if (stop_) break;
    if (broken_) {
      timeout = -1;
      continue;
    }
    timeout = muxer_->handle_timeouts();
    process_tx();
    process_rx();
    signal_queues();
  }
}

void VsockDevice::process_tx() {
  virtio::Virtqueue& tx = queues_[kTxQueue];
  const std::uint32_t max_payload = config_.limits.max_payload;
  for (;;) {
    auto popped = tx.pop();
    if (!popped) return fail();
    if (!*popped) return;
    const virtio::DescriptorChain& chain = **popped;
    virtio::ChainReader reader(*memory_, chain);
    std::byte raw[kHeaderSize];
    std::optional<Header> header;
    if (reader.read(raw) == kHeaderSize) header = decode_header(raw);
    if (!header || header->len > max_payload || header->len > reader.remaining()) {
      ++stats_.tx_malformed;
      if (!tx.add_used(chain.head(), 0)) return fail();
      continue;
    }
    scratch_.resize(header->len);
    const std::size_t got = reader.read(scratch_);
    if (!tx.add_used(chain.head(), 0)) return fail();
    if (got != header->len) {
      ++stats_.tx_malformed;
      continue;
    }
    muxer_->handle_guest_packet(*header, scratch_);
  }
}

void VsockDevice::process_rx() {
  virtio::Virtqueue& rx = queues_[kRxQueue];
  while (muxer_->has_rx_work()) {
    auto popped = rx.pop();
    if (!popped) return fail();
    if (!*popped) return;  // the guest will kick when it adds buffers
    const virtio::DescriptorChain& chain = **popped;
    if (chain.writable_bytes() < kHeaderSize) {
      if (!rx.add_used(chain.head(), 0)) return fail();
      continue;
    }
    scratch_.resize(static_cast<std::size_t>(
        std::min<std::uint64_t>(chain.writable_bytes(), kHeaderSize + config_.limits.max_payload)));
    const std::size_t len = muxer_->fill_rx(scratch_);
    if (len == 0) {
      rx.undo_pop();
      return;
    }
    virtio::ChainWriter writer(*memory_, chain);
    writer.write(std::span<const std::byte>(scratch_.data(), len));
    ++stats_.rx_packets;
    if (!rx.add_used(chain.head(), static_cast<std::uint32_t>(len))) return fail();
  }
}

void VsockDevice::signal_queues() {
  for (std::uint16_t q : {kRxQueue, kTxQueue}) {
    if (queues_[q].needs_notification()) interrupt_->signal_used_queue(q);
  }
}

VsockDeviceState VsockDevice::save_state() const {
  std::lock_guard lock(mutex_);
  VsockDeviceState s;
  s.guest_cid = config_.guest_cid;
  s.driver_features = driver_features_;
  for (const auto& q : queues_) s.queues.push_back(q.save());
  if (muxer_) s.connections = muxer_->save();
  return s;
}

VsockDeviceStats VsockDevice::stats() const {
  std::lock_guard lock(mutex_);
  VsockDeviceStats s = stats_;
  if (muxer_) s.muxer = muxer_->stats();
  return s;
}

}  // namespace voidbox::kvm::vsock
