// The interface a virtio device model implements, independent of transport.
//
// A transport (virtio-mmio here, PCI later) owns the register file and the
// feature/status handshake and calls into the device. Devices never see the
// transport: they raise interrupts through `Interrupt`.
//
// Error model: a device never throws into the transport. When the guest
// breaks the device (malformed queue, impossible request) the device stops
// processing and calls Interrupt::signal_needs_reset(); the transport then
// sets DEVICE_NEEDS_RESET and the guest must reset the device. The transport
// also catches anything that escapes and treats it the same way.
//
// Threading (see MmioTransport for the caller side): every Device method is
// called with the transport's lock held, so they never run concurrently with
// each other. Devices with slow work (sockets, files) do it on their own
// thread; queue_notify() then only wakes that thread. Interrupt methods may be
// called from any thread at any time, including from inside queue_notify().
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string>

#include "voidbox/virtio/guest_memory.hpp"
#include "voidbox/virtio/virtqueue.hpp"

namespace voidbox::virtio {

// Device ids (virtio 1.2 §5).
inline constexpr std::uint32_t kDeviceIdNet = 1;
inline constexpr std::uint32_t kDeviceIdBlock = 2;
inline constexpr std::uint32_t kDeviceIdConsole = 3;
inline constexpr std::uint32_t kDeviceId9p = 9;
inline constexpr std::uint32_t kDeviceIdVsock = 19;
inline constexpr std::uint32_t kDeviceIdFs = 26;

// Transport-independent feature bits (virtio 1.2 §6).
inline constexpr std::uint64_t kFeatureIndirectDesc = 1ull << 28;
inline constexpr std::uint64_t kFeatureEventIdx = 1ull << 29;
inline constexpr std::uint64_t kFeatureVersion1 = 1ull << 32;

class Interrupt {
 public:
  virtual ~Interrupt() = default;
  // The device put buffers on queue `queue`'s used ring. Call it only when
  // Virtqueue::needs_notification() says so.
  virtual void signal_used_queue(std::uint16_t queue) = 0;
  // The device's configuration space changed.
  virtual void signal_config_change() = 0;
  // The guest broke the device; it has stopped processing until reset.
  virtual void signal_needs_reset() = 0;
};

// What activate() receives. References are valid until reset() returns.
struct ActivateParams {
  const GuestMemory& memory;
  std::span<const QueueConfig> queues;  // one per queue_max_sizes() entry
  std::uint64_t driver_features;        // as accepted by ack_features()
  Interrupt& interrupt;
};

// Optional second interface of a Device that runs its own event loop: the
// host hands it the eventfds on which each queue's notifies arrive (a KVM
// ioeventfd per queue, -1 where there is none) before the first activate(),
// and the device waits on them itself. The host then calls queue_notify()
// for those queues no more, saving a thread hop per notify. Returning false
// declines; the host keeps delivering notifies through queue_notify(). The
// fds stay open until the device is destroyed; the device only reads them.
class NotifyEventSink {
 public:
  virtual ~NotifyEventSink() = default;
  virtual bool adopt_notify_fds(std::span<const int> fds) = 0;
};

class Device {
 public:
  virtual ~Device() = default;

  virtual std::uint32_t device_type() const = 0;
  // One entry per queue: its maximum size (a power of two <= 32768).
  virtual std::span<const std::uint16_t> queue_max_sizes() const = 0;
  // Offered features; must include kFeatureVersion1.
  virtual std::uint64_t device_features() const = 0;
  // The driver accepted `features` (already a subset of device_features()).
  // Called once per initialisation, when the driver sets FEATURES_OK.
  virtual void ack_features(std::uint64_t features) = 0;

  // Device-specific configuration space. The transport only forwards accesses
  // lying entirely inside [0, config_size()).
  virtual std::uint32_t config_size() const = 0;
  virtual void read_config(std::uint32_t offset, std::span<std::byte> out) const = 0;
  virtual void write_config(std::uint32_t offset, std::span<const std::byte> in) = 0;

  // The driver set DRIVER_OK. An error leaves the device inactive and makes
  // the transport set DEVICE_NEEDS_RESET.
  virtual std::expected<void, std::string> activate(const ActivateParams& params) = 0;
  // The driver notified queue `queue` (index already checked < queue count).
  virtual void queue_notify(std::uint16_t queue) = 0;
  // Back to the pre-activation state: stop all processing, forget queues and
  // guest memory, drop negotiated features. Must not return until no thread
  // of the device touches guest memory or calls Interrupt any more.
  virtual void reset() = 0;
};

}  // namespace voidbox::virtio
