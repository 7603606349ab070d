#include "voidbox/virtio/mmio_transport.hpp"

#include <bit>
#include <cstring>
#include <exception>

namespace voidbox::virtio {

namespace {

std::uint32_t low32(std::uint64_t v) {
  return static_cast<std::uint32_t>(v);
}
std::uint32_t high32(std::uint64_t v) {
  return static_cast<std::uint32_t>(v >> 32);
}
void set_low32(std::uint64_t& v, std::uint32_t x) {
  v = (v & ~0xffffffffull) | x;
}
void set_high32(std::uint64_t& v, std::uint32_t x) {
  v = (v & 0xffffffffull) | (std::uint64_t{x} << 32);
}

bool valid_config_width(std::size_t n) {
  return n == 1 || n == 2 || n == 4 || n == 8;
}

}  // namespace

void MmioTransport::IrqState::set(std::uint32_t bit) {
  status.fetch_or(bit);
  if (callbacks.raise_irq) callbacks.raise_irq();
}

void MmioTransport::IrqState::signal_used_queue(std::uint16_t) {
  set(kInterruptUsedRing);
}

void MmioTransport::IrqState::signal_config_change() {
  generation.fetch_add(1);
  set(kInterruptConfigChange);
}

void MmioTransport::IrqState::signal_needs_reset() {
  needs_reset.store(true);
  set(kInterruptConfigChange);
}

MmioTransport::MmioTransport(std::unique_ptr<Device> device, GuestMemory memory, IrqCallbacks irq)
    : device_(std::move(device)), memory_(std::move(memory)) {
  irq_.callbacks = std::move(irq);
  queues_.resize(device_->queue_max_sizes().size());
}

MmioTransport::~MmioTransport() {
  std::lock_guard lock(mutex_);
  try {
    device_->reset();
  } catch (...) {
  }
}

std::uint32_t MmioTransport::status() const {
  std::lock_guard lock(mutex_);
  return status_ | (irq_.needs_reset.load() ? kStatusNeedsReset : 0);
}

bool MmioTransport::activated() const {
  std::lock_guard lock(mutex_);
  return activated_;
}

QueueConfig* MmioTransport::selected_queue() {
  return queue_sel_ < queues_.size() ? &queues_[queue_sel_] : nullptr;
}

void MmioTransport::read(std::uint64_t offset, std::span<std::byte> data) {
  std::fill(data.begin(), data.end(), std::byte{0});
  // The interrupt handler's read must not wait for a device call (a disk
  // request served on a device thread) that holds the lock.
  if (offset == kMmioInterruptStatus && data.size() == 4) {
    const std::uint32_t value = irq_.status.load();
    std::memcpy(data.data(), &value, 4);
    return;
  }
  std::lock_guard lock(mutex_);
  if (offset >= kMmioConfig) {
    const std::uint64_t off = offset - kMmioConfig;
    const std::uint64_t size = device_->config_size();
    if (!valid_config_width(data.size()) || off > size || data.size() > size - off) return;
    try {
      device_->read_config(static_cast<std::uint32_t>(off), data);
    } catch (...) {
      std::fill(data.begin(), data.end(), std::byte{0});
      mark_broken_locked();
    }
    return;
  }
  if (data.size() != 4 || offset % 4 != 0) return;
  const std::uint32_t value = read_register(offset);
  std::memcpy(data.data(), &value, 4);
}

void MmioTransport::write(std::uint64_t offset, std::span<const std::byte> data) {
  if (offset == kMmioInterruptAck && data.size() == 4) {
    std::uint32_t value;
    std::memcpy(&value, data.data(), 4);
    acknowledge(value);  // lock-free, as the status read above
    return;
  }
  std::lock_guard lock(mutex_);
  if (offset >= kMmioConfig) {
    const std::uint64_t off = offset - kMmioConfig;
    const std::uint64_t size = device_->config_size();
    if (!valid_config_width(data.size()) || off > size || data.size() > size - off) return;
    if (status_ & kStatusFailed) return;
    try {
      device_->write_config(static_cast<std::uint32_t>(off), data);
    } catch (...) {
      mark_broken_locked();
    }
    return;
  }
  if (data.size() != 4 || offset % 4 != 0) return;
  std::uint32_t value;
  std::memcpy(&value, data.data(), 4);
  write_register(offset, value);
}

std::uint32_t MmioTransport::read_register(std::uint64_t offset) {
  const QueueConfig* q = selected_queue();
  switch (offset) {
    case kMmioMagic:
      return kMmioMagicValue;
    case kMmioVersion:
      return 2;
    case kMmioDeviceId:
      return device_->device_type();
    case kMmioVendorId:
      return kMmioVendorValue;
    case kMmioDeviceFeatures: {
      const std::uint64_t f = device_->device_features() | kFeatureVersion1;
      if (device_features_sel_ == 0) return low32(f);
      if (device_features_sel_ == 1) return high32(f);
      return 0;
    }
    case kMmioQueueNumMax:
      return q ? device_->queue_max_sizes()[queue_sel_] : 0;
    case kMmioQueueNum:
      return q ? q->size : 0;
    case kMmioQueueReady:
      return q && q->ready ? 1 : 0;
    case kMmioInterruptStatus:
      return irq_.status.load();
    case kMmioStatus:
      return status_ | (irq_.needs_reset.load() ? kStatusNeedsReset : 0);
    case kMmioQueueDescLow:
      return q ? low32(q->desc_addr) : 0;
    case kMmioQueueDescHigh:
      return q ? high32(q->desc_addr) : 0;
    case kMmioQueueAvailLow:
      return q ? low32(q->avail_addr) : 0;
    case kMmioQueueAvailHigh:
      return q ? high32(q->avail_addr) : 0;
    case kMmioQueueUsedLow:
      return q ? low32(q->used_addr) : 0;
    case kMmioQueueUsedHigh:
      return q ? high32(q->used_addr) : 0;
    case kMmioConfigGeneration:
      return irq_.generation.load();
    case kMmioShmLenLow:
    case kMmioShmLenHigh:
    case kMmioShmBaseLow:
    case kMmioShmBaseHigh:
      // No region (virtio 1.2 §4.2.2: a length of -1). A 0 here reads as a
      // zero-length region at address 0, and virtio-fs then fails its probe
      // trying to claim it as the DAX window.
      return 0xffffffffu;
    default:
      return 0;
  }
}

void MmioTransport::write_register(std::uint64_t offset, std::uint32_t value) {
  QueueConfig* q = selected_queue();
  // Queue layout may only change while the queue is off and before DRIVER_OK.
  const bool queue_writable = q != nullptr && !q->ready && !(status_ & kStatusDriverOk);
  switch (offset) {
    case kMmioDeviceFeaturesSel:
      device_features_sel_ = value;
      break;
    case kMmioDriverFeatures:
      if ((status_ & kStatusFeaturesOk) || !(status_ & kStatusDriver)) break;
      if (driver_features_sel_ == 0) set_low32(driver_features_, value);
      if (driver_features_sel_ == 1) set_high32(driver_features_, value);
      break;
    case kMmioDriverFeaturesSel:
      driver_features_sel_ = value;
      break;
    case kMmioQueueSel:
      queue_sel_ = value;
      break;
    case kMmioQueueNum:
      if (!queue_writable) break;
      // A size above the maximum is never stored, so activation sees 0 and fails.
      q->size =
          value <= device_->queue_max_sizes()[queue_sel_] ? static_cast<std::uint16_t>(value) : 0;
      break;
    case kMmioQueueReady:
      if (q != nullptr && !(status_ & kStatusDriverOk)) q->ready = (value & 1) != 0;
      break;
    case kMmioQueueNotify:
      if (value <= 0xffff) handle_notify_locked(static_cast<std::uint16_t>(value));
      break;
    case kMmioStatus:
      write_status(value);
      break;
    case kMmioQueueDescLow:
      if (queue_writable) set_low32(q->desc_addr, value);
      break;
    case kMmioQueueDescHigh:
      if (queue_writable) set_high32(q->desc_addr, value);
      break;
    case kMmioQueueAvailLow:
      if (queue_writable) set_low32(q->avail_addr, value);
      break;
    case kMmioQueueAvailHigh:
      if (queue_writable) set_high32(q->avail_addr, value);
      break;
    case kMmioQueueUsedLow:
      if (queue_writable) set_low32(q->used_addr, value);
      break;
    case kMmioQueueUsedHigh:
      if (queue_writable) set_high32(q->used_addr, value);
      break;
    default:
      break;
  }
}

void MmioTransport::acknowledge(std::uint32_t value) {
  const std::uint32_t before = irq_.status.fetch_and(~value);
  if ((before & ~value) == 0 && irq_.callbacks.lower_irq) {
    irq_.callbacks.lower_irq();
    // A device thread may have set a bit between the ack and lowering
    // the line; its raise could have come before our lower.
    if (irq_.status.load() != 0 && irq_.callbacks.raise_irq) irq_.callbacks.raise_irq();
  }
}

void MmioTransport::write_status(std::uint32_t value) {
  if (value == 0) {
    reset_locked();
    return;
  }
  value &= ~kStatusNeedsReset;  // device-owned bit
  // Bits are only ever added by the driver; anything else is ignored.
  if ((value & status_) != status_) return;
  const std::uint32_t added = value & ~status_;
  if ((added & kStatusDriver) && !(value & kStatusAcknowledge)) return;
  if (added & kStatusFeaturesOk) {
    const std::uint64_t offered = device_->device_features() | kFeatureVersion1;
    const bool subset = (driver_features_ & ~offered) == 0;
    if (!(value & kStatusDriver) || !subset || !(driver_features_ & kFeatureVersion1)) {
      value &= ~kStatusFeaturesOk;  // the driver reads it back and gives up
    } else {
      try {
        device_->ack_features(driver_features_);
      } catch (...) {
        value &= ~kStatusFeaturesOk;
      }
    }
  }
  if ((added & kStatusDriverOk) && !(value & kStatusFeaturesOk)) value &= ~kStatusDriverOk;
  status_ = value;
  if ((added & kStatusDriverOk) && (value & kStatusDriverOk) && !activated_) {
    ActivateParams params{memory_, queues_, driver_features_, irq_};
    bool ok = false;
    try {
      ok = device_->activate(params).has_value();
    } catch (...) {
      ok = false;
    }
    if (ok) {
      activated_ = true;
    } else {
      mark_broken_locked();
    }
  }
}

void MmioTransport::reset_locked() {
  try {
    device_->reset();
  } catch (...) {
  }
  for (auto& q : queues_) q = {};
  status_ = 0;
  device_features_sel_ = driver_features_sel_ = queue_sel_ = 0;
  driver_features_ = 0;
  activated_ = false;
  irq_.needs_reset.store(false);
  if (irq_.status.exchange(0) != 0 && irq_.callbacks.lower_irq) irq_.callbacks.lower_irq();
}

void MmioTransport::mark_broken_locked() {
  if (activated_) {
    try {
      device_->reset();
    } catch (...) {
    }
    activated_ = false;
  }
  irq_.signal_needs_reset();
}

void MmioTransport::handle_notify(std::uint16_t queue) {
  std::lock_guard lock(mutex_);
  handle_notify_locked(queue);
}

void MmioTransport::handle_notify_locked(std::uint16_t queue) {
  if (!activated_ || irq_.needs_reset.load() || queue >= queues_.size()) return;
  try {
    device_->queue_notify(queue);
  } catch (...) {
    mark_broken_locked();
  }
}

}  // namespace voidbox::virtio
