// virtio-mmio version 2 transport (virtio 1.2 §4.2) wrapping one Device.
//
// The VMM maps a 0x200-byte window per device and forwards MMIO exits:
//   transport.read(addr - base, data)  /  transport.write(addr - base, data)
// Register accesses must be 4 bytes and aligned; the config space at 0x100
// accepts 1, 2, 4 and 8-byte accesses. Anything else reads as zero / is
// ignored, never faults the VMM.
//
// Interrupts: the transport keeps INTERRUPT_STATUS and calls `raise_irq` each
// time it sets a bit (after setting it), and `lower_irq` (optional) when the
// driver acknowledges every bit. The line is level-triggered: high while the
// status is non-zero. Wire them to KVM_IRQ_LINE high/low, or raise_irq to a
// resampling irqfd and no lower_irq: KVM lowers the line at the guest's EOI
// and signals the resample eventfd, and the VMM raises again if
// interrupt_status() is still non-zero.
//
// Queue notify: a write of queue index q to kQueueNotifyOffset calls the
// device's queue_notify(q). A VMM using ioeventfd registers
// base + kQueueNotifyOffset (4 bytes, datamatch q) per queue and calls
// handle_notify(q) when that eventfd fires.
//
// Locking: read(), write() and handle_notify() may be called from any thread
// (vCPU threads, an ioeventfd thread); one internal mutex serialises them and
// every call into the Device, except INTERRUPT_STATUS reads and
// INTERRUPT_ACK writes, which touch only the atomic status word so the
// guest's interrupt handler never waits behind a device call. The Interrupt given to the device
// only touches an atomic status word and the irq callbacks, so device threads can signal without
// taking that mutex (and so reset() may join device threads safely). raise_irq / lower_irq must
// therefore be thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "voidbox/virtio/device.hpp"

namespace voidbox::virtio {

// Register offsets.
inline constexpr std::uint64_t kMmioMagic = 0x000;
inline constexpr std::uint64_t kMmioVersion = 0x004;
inline constexpr std::uint64_t kMmioDeviceId = 0x008;
inline constexpr std::uint64_t kMmioVendorId = 0x00c;
inline constexpr std::uint64_t kMmioDeviceFeatures = 0x010;
inline constexpr std::uint64_t kMmioDeviceFeaturesSel = 0x014;
inline constexpr std::uint64_t kMmioDriverFeatures = 0x020;
inline constexpr std::uint64_t kMmioDriverFeaturesSel = 0x024;
inline constexpr std::uint64_t kMmioQueueSel = 0x030;
inline constexpr std::uint64_t kMmioQueueNumMax = 0x034;
inline constexpr std::uint64_t kMmioQueueNum = 0x038;
inline constexpr std::uint64_t kMmioQueueReady = 0x044;
inline constexpr std::uint64_t kMmioQueueNotify = 0x050;
inline constexpr std::uint64_t kMmioInterruptStatus = 0x060;
inline constexpr std::uint64_t kMmioInterruptAck = 0x064;
inline constexpr std::uint64_t kMmioStatus = 0x070;
inline constexpr std::uint64_t kMmioQueueDescLow = 0x080;
inline constexpr std::uint64_t kMmioQueueDescHigh = 0x084;
inline constexpr std::uint64_t kMmioQueueAvailLow = 0x090;
inline constexpr std::uint64_t kMmioQueueAvailHigh = 0x094;
inline constexpr std::uint64_t kMmioQueueUsedLow = 0x0a0;
inline constexpr std::uint64_t kMmioQueueUsedHigh = 0x0a4;
// Shared memory regions (SHMSel is written, the rest read); this transport
// has none, which a read of the length and base says with all ones.
inline constexpr std::uint64_t kMmioShmSel = 0x0ac;
inline constexpr std::uint64_t kMmioShmLenLow = 0x0b0;
inline constexpr std::uint64_t kMmioShmLenHigh = 0x0b4;
inline constexpr std::uint64_t kMmioShmBaseLow = 0x0b8;
inline constexpr std::uint64_t kMmioShmBaseHigh = 0x0bc;
inline constexpr std::uint64_t kMmioConfigGeneration = 0x0fc;
inline constexpr std::uint64_t kMmioConfig = 0x100;
inline constexpr std::uint64_t kMmioWindowSize = 0x200;
inline constexpr std::uint64_t kQueueNotifyOffset = kMmioQueueNotify;

inline constexpr std::uint32_t kMmioMagicValue = 0x74726976;   // "virt"
inline constexpr std::uint32_t kMmioVendorValue = 0x786f6276;  // "vbox"

// Device status bits.
inline constexpr std::uint32_t kStatusAcknowledge = 1;
inline constexpr std::uint32_t kStatusDriver = 2;
inline constexpr std::uint32_t kStatusDriverOk = 4;
inline constexpr std::uint32_t kStatusFeaturesOk = 8;
inline constexpr std::uint32_t kStatusNeedsReset = 0x40;
inline constexpr std::uint32_t kStatusFailed = 0x80;

// INTERRUPT_STATUS bits.
inline constexpr std::uint32_t kInterruptUsedRing = 1;
inline constexpr std::uint32_t kInterruptConfigChange = 2;

class MmioTransport {
 public:
  struct IrqCallbacks {
    std::function<void()> raise_irq;  // required
    std::function<void()> lower_irq;  // optional (edge-triggered irqfd needs none)
  };

  MmioTransport(std::unique_ptr<Device> device, GuestMemory memory, IrqCallbacks irq);
  ~MmioTransport();
  MmioTransport(const MmioTransport&) = delete;
  MmioTransport& operator=(const MmioTransport&) = delete;

  void read(std::uint64_t offset, std::span<std::byte> data);
  void write(std::uint64_t offset, std::span<const std::byte> data);
  void handle_notify(std::uint16_t queue);

  static constexpr std::uint64_t notify_offset() { return kQueueNotifyOffset; }
  std::uint32_t status() const;
  std::uint32_t interrupt_status() const { return irq_.status.load(); }
  bool activated() const;
  Device& device() { return *device_; }

 private:
  // Shared with device threads; outlives any device activation.
  struct IrqState final : Interrupt {
    std::atomic<std::uint32_t> status{0};
    std::atomic<bool> needs_reset{false};
    std::atomic<std::uint32_t> generation{0};
    IrqCallbacks callbacks;
    void set(std::uint32_t bit);
    void signal_used_queue(std::uint16_t queue) override;
    void signal_config_change() override;
    void signal_needs_reset() override;
  };

  std::uint32_t read_register(std::uint64_t offset);
  void write_register(std::uint64_t offset, std::uint32_t value);
  void write_status(std::uint32_t value);
  void acknowledge(std::uint32_t value);
  void handle_notify_locked(std::uint16_t queue);
  void reset_locked();
  void mark_broken_locked();
  QueueConfig* selected_queue();

  mutable std::mutex mutex_;
  std::unique_ptr<Device> device_;
  GuestMemory memory_;
  IrqState irq_;
  std::vector<QueueConfig> queues_;
  std::uint32_t status_ = 0;
  std::uint32_t device_features_sel_ = 0;
  std::uint32_t driver_features_sel_ = 0;
  std::uint64_t driver_features_ = 0;
  std::uint32_t queue_sel_ = 0;
  bool activated_ = false;
};

}  // namespace voidbox::virtio
