// Test double: drives an MmioTransport through the register sequence the
// Linux virtio-mmio driver uses. Not for production code.
#pragma once

#include <cstdint>
#include <span>

#include "voidbox/virtio/mmio_transport.hpp"
#include "voidbox/virtio/testing/fake_driver.hpp"

namespace voidbox::virtio::testing {

class MmioDriver {
 public:
  explicit MmioDriver(MmioTransport& t) : t_(t) {}

  std::uint32_t read32(std::uint64_t off) {
    std::uint32_t v = 0;
    t_.read(off, std::as_writable_bytes(std::span(&v, 1)));
    return v;
  }
  void write32(std::uint64_t off, std::uint32_t v) {
    t_.write(off, std::as_bytes(std::span(&v, 1)));
  }
  std::uint64_t device_features() {
    write32(kMmioDeviceFeaturesSel, 0);
    std::uint64_t f = read32(kMmioDeviceFeatures);
    write32(kMmioDeviceFeaturesSel, 1);
    return f | (std::uint64_t{read32(kMmioDeviceFeatures)} << 32);
  }
  template <typename T>
  T read_config(std::uint32_t offset) {
    T v{};
    t_.read(kMmioConfig + offset, std::as_writable_bytes(std::span(&v, 1)));
    return v;
  }

  // Reset, negotiate `features` (masked by what the device offers), set up
  // the given queues and set DRIVER_OK. Returns false if the device refused.
  bool initialise(std::uint64_t features, std::span<FakeQueue* const> queues) {
    write32(kMmioStatus, 0);
    write32(kMmioStatus, kStatusAcknowledge);
    write32(kMmioStatus, kStatusAcknowledge | kStatusDriver);
    features &= device_features();
    write32(kMmioDriverFeaturesSel, 0);
    write32(kMmioDriverFeatures, static_cast<std::uint32_t>(features));
    write32(kMmioDriverFeaturesSel, 1);
    write32(kMmioDriverFeatures, static_cast<std::uint32_t>(features >> 32));
    write32(kMmioStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
    if (!(read32(kMmioStatus) & kStatusFeaturesOk)) return false;
    for (std::uint32_t i = 0; i < queues.size(); ++i) {
      const FakeQueue& q = *queues[i];
      write32(kMmioQueueSel, i);
      write32(kMmioQueueNum, q.size());
      write32(kMmioQueueDescLow, static_cast<std::uint32_t>(q.desc_addr()));
      write32(kMmioQueueDescHigh, static_cast<std::uint32_t>(q.desc_addr() >> 32));
      write32(kMmioQueueAvailLow, static_cast<std::uint32_t>(q.avail_addr()));
      write32(kMmioQueueAvailHigh, static_cast<std::uint32_t>(q.avail_addr() >> 32));
      write32(kMmioQueueUsedLow, static_cast<std::uint32_t>(q.used_addr()));
      write32(kMmioQueueUsedHigh, static_cast<std::uint32_t>(q.used_addr() >> 32));
      write32(kMmioQueueReady, 1);
    }
    write32(kMmioStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
    return (read32(kMmioStatus) & kStatusNeedsReset) == 0;
  }

  void notify(std::uint32_t queue) { write32(kMmioQueueNotify, queue); }

 private:
  MmioTransport& t_;
};

}  // namespace voidbox::virtio::testing
