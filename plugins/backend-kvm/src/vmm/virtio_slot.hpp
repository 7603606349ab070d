// One virtio-mmio device on the VM's bus: its register window, its GSI, the
// transport, and how notifies and interrupts travel for it:
//  - sync:  QueueNotify writes are MMIO exits; the vCPU thread runs the
//           device's queue_notify(). Interrupts are KVM_IRQ_LINE high/low.
//  - event: one KVM ioeventfd per queue (datamatch = queue index) wakes this
//           slot's DeviceThread, which runs queue_notify() off the vCPU (or
//           the device's own loop, if it adopts the eventfds); interrupts go
//           through a resampling irqfd (see kvm_eventfds.hpp).
//  - ioeventfd only: notifies as on the event path, interrupts as on the
//           sync path (to tell the two halves' costs apart).
// Either way the device sees only the transport's Interrupt and its queues.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kvm_eventfds.hpp"
#include "result.hpp"
#include "voidbox/virtio/device_thread.hpp"
#include "voidbox/virtio/mmio_transport.hpp"

namespace voidbox::kvm {

class VirtioSlot {
 public:
  struct Params {
    int vm_fd = -1;
    std::uint64_t base = 0;
    std::uint32_t gsi = 0;
    bool ioeventfd = false;
    bool irqfd = false;
    // Without irqfd: drives the GSI through KVM_IRQ_LINE.
    std::function<void(std::uint32_t gsi, bool level)> set_irq_line;
  };

  static Result<std::unique_ptr<VirtioSlot>> create(Params params,
                                                    std::unique_ptr<voidbox::virtio::Device> device,
                                                    const voidbox::virtio::GuestMemory& memory);
  ~VirtioSlot();  // thread, then transport (device threads), then the fds

  std::uint64_t base() const { return base_; }
  std::uint32_t gsi() const { return gsi_; }
  const std::string& name() const { return name_; }
  bool contains(std::uint64_t addr) const;
  void mmio_read(std::uint64_t addr, std::span<std::uint8_t> data);
  void mmio_write(std::uint64_t addr, std::span<const std::uint8_t> data);

  bool stop_thread(std::chrono::milliseconds deadline);
  std::uint64_t mmio_exits() const { return mmio_exits_.load(std::memory_order_relaxed); }
  std::uint64_t thread_notifies() const { return thread_ ? thread_->notifies() : 0; }
  // Time spent serving queue notifies: on the device thread (event path) or
  // inside QueueNotify exits on vCPU threads (sync path).
  std::uint64_t notify_busy_ns() const {
    return (thread_ ? thread_->busy_ns() : 0) + sync_notify_ns_.load(std::memory_order_relaxed);
  }

 private:
  VirtioSlot() = default;
  void on_resample();

  std::uint64_t base_ = 0;
  std::uint32_t gsi_ = 0;
  std::string name_;
  std::atomic<std::uint64_t> mmio_exits_{0};
  std::atomic<std::uint64_t> sync_notify_ns_{0};
  // Destroyed bottom-up: the thread stops before the transport goes, and the
  // transport (whose device threads may raise) before the irqfd.
  std::vector<IoEventFd> notify_;
  std::optional<IrqFd> irqfd_;
  std::unique_ptr<voidbox::virtio::MmioTransport> transport_;
  std::unique_ptr<voidbox::virtio::DeviceThread> thread_;
};

}  // namespace voidbox::kvm
