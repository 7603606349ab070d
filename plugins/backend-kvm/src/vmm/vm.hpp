// One KVM virtual machine: RAM, vCPUs, the in-kernel irqchip and PIT, the
// UART, the ACPI tables and the virtio-mmio bus. Runs until the guest powers
// off, reboots, panics, or the host stops it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "guest_ram.hpp"
#include "result.hpp"
#include "serial.hpp"
#include "unique_fd.hpp"
#include "vcpu.hpp"
#include "virtio_slot.hpp"
#include "vm_config.hpp"
#include "vm_outcome.hpp"
#include "voidbox/virtio/device.hpp"
#include "voidbox/virtio/mmio_transport.hpp"

namespace voidbox::kvm {

struct VmSpec {
  std::string kernel;
  std::string initramfs;  // may be empty
  std::string cmdline;    // complete kernel command line
  std::uint64_t memory_mb = 512;
  std::uint32_t vcpus = 1;
  std::string serial_log;  // empty: discard console output
};

// Monotonic nanoseconds; 0 = has not happened.
struct BootStats {
  std::int64_t first_kvm_run_ns = 0;
  double cpu_ms_at_first_kvm_run = 0;  // process user+system CPU time
  std::int64_t guest_ready_ns = 0;     // the guest wrote the boot-ready port
};

std::int64_t monotonic_ns();

class Vm final : private ExitHandler {
 public:
  static Result<std::unique_ptr<Vm>> create(const VmSpec& spec);
  ~Vm() override;

  // Before the first add_virtio_device(): how notifies and interrupts travel
  // (vm_config.hpp). kEvent fails here when the host lacks ioeventfd/irqfd;
  // kAuto picks kEvent where it can. Logs the choice and why.
  Result<void> set_device_path(DevicePath path);
  // Before boot(): attaches a virtio device on the next virtio-mmio slot.
  Result<void> add_virtio_device(std::unique_ptr<voidbox::virtio::Device> device);
  // One line: exits by kind, MMIO exits and device-thread notifies per device.
  std::string exit_summary() const;
  const voidbox::virtio::GuestMemory& memory() const { return ram_.memory(); }

  // Writes ACPI tables, loads the kernel, configures and starts the vCPUs.
  Result<void> boot();

  // Readable (eventfd) whenever the VM ended or a boot milestone passed.
  int event_fd() const { return event_fd_.get(); }
  void drain_events();
  std::optional<VmOutcome> outcome() const;
  BootStats stats() const;
  // A panic was seen on the console; the VM normally resets right after.
  bool panic_seen() const { return panic_seen_.load(); }

  // Ends the VM from the host side (first outcome wins).
  void end(VmOutcome outcome) { vm_ended(std::move(outcome)); }
  // Kicks every vCPU and joins them, then stops the device threads; false
  // (and the stuck thread's name in *stuck) if one did not stop by the
  // deadline.
  bool stop_vcpus(std::chrono::milliseconds deadline, std::string* stuck);

 private:
  explicit Vm(const VmSpec& spec) : spec_(spec) {}
  Result<void> init();
  void set_irq_line(std::uint32_t gsi, bool level);
  void on_console_line(const std::string& line);
  void notify();

  // ExitHandler
  void pio_read(std::uint16_t port, std::span<std::uint8_t> data) override;
  void pio_write(std::uint16_t port, std::span<const std::uint8_t> data) override;
  void mmio_read(std::uint64_t addr, std::span<std::uint8_t> data) override;
  void mmio_write(std::uint64_t addr, std::span<const std::uint8_t> data) override;
  void vm_ended(VmOutcome outcome) override;
  void first_entry(std::uint32_t vcpu) override;

  VmSpec spec_;
  UniqueFd kvm_;
  UniqueFd vm_;
  UniqueFd event_fd_;
  UniqueFd serial_log_;
  GuestRam ram_;
  std::unique_ptr<Serial> serial_;
  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  std::vector<std::unique_ptr<VirtioSlot>> mmio_;
  bool ioeventfd_ = false;  // queue notifies through KVM ioeventfds
  bool irqfd_ = false;      // interrupts through resampling irqfds
  bool vcpus_started_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<bool> panic_seen_{false};
  mutable std::mutex mu_;
  std::optional<VmOutcome> outcome_;
  BootStats stats_;
};

}  // namespace voidbox::kvm
