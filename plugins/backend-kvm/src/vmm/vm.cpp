#include "vm.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "acpi_tables.hpp"
#include "cpu_setup.hpp"
#include "kernel_loader.hpp"
#include "layout.hpp"

namespace voidbox::kvm {

std::int64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

Result<std::unique_ptr<Vm>> Vm::create(const VmSpec& spec) {
  if (spec.vcpus == 0 || spec.vcpus > layout::kMaxVcpus) {
    return fail("vcpus must be between 1 and " + std::to_string(layout::kMaxVcpus));
  }
  std::unique_ptr<Vm> vm(new Vm(spec));
  if (auto r = vm->init(); !r) return std::unexpected(r.error());
  return vm;
}

Result<void> Vm::init() {
  kvm_.reset(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!kvm_.valid()) return fail_errno("cannot open /dev/kvm");
  if (::ioctl(kvm_.get(), KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
    return fail("unsupported KVM API version");
  }
  vm_.reset(::ioctl(kvm_.get(), KVM_CREATE_VM, 0UL));
  if (!vm_.valid()) return fail_errno("KVM_CREATE_VM failed");
  event_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!event_fd_.valid()) return fail_errno("eventfd failed");

  // Real-mode helpers KVM needs on Intel; placed just below the BIOS area in the hole.
  if (::ioctl(vm_.get(), KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0)
    return fail_errno("KVM_SET_TSS_ADDR failed");
  std::uint64_t identity = 0xfffbc000;
  if (::ioctl(vm_.get(), KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0) {
    return fail_errno("KVM_SET_IDENTITY_MAP_ADDR failed");
  }
  if (::ioctl(vm_.get(), KVM_CREATE_IRQCHIP, 0) < 0) return fail_errno("KVM_CREATE_IRQCHIP failed");
  kvm_pit_config pit{};
  pit.flags = KVM_PIT_SPEAKER_DUMMY;
  if (::ioctl(vm_.get(), KVM_CREATE_PIT2, &pit) < 0) return fail_errno("KVM_CREATE_PIT2 failed");

  auto ram = GuestRam::create(spec_.memory_mb);
  if (!ram) return std::unexpected(ram.error());
  ram_ = std::move(*ram);
  if (auto r = ram_.register_with(vm_.get()); !r) return r;

  if (!spec_.serial_log.empty()) {
    serial_log_.reset(
        ::open(spec_.serial_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (!serial_log_.valid()) return fail_errno("cannot open serial log " + spec_.serial_log);
  }
  serial_ = std::make_unique<Serial>(
      serial_log_.get(),
      [this] {
        set_irq_line(layout::kSerialIrq, true);
        set_irq_line(layout::kSerialIrq, false);
      },
      [this](const std::string& line) { on_console_line(line); });

  const int run_size = ::ioctl(kvm_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_size <= 0) return fail_errno("KVM_GET_VCPU_MMAP_SIZE failed");
  auto cpuid = supported_cpuid(kvm_.get());
  if (!cpuid) return std::unexpected(cpuid.error());
  for (std::uint32_t i = 0; i < spec_.vcpus; ++i) {
    auto vcpu = Vcpu::create(vm_.get(), i, static_cast<std::size_t>(run_size));
    if (!vcpu) return std::unexpected(vcpu.error());
    if (auto r = configure_vcpu((*vcpu)->fd(), *cpuid, i, spec_.vcpus); !r) {
      return fail("vCPU " + std::to_string(i) + ": " + r.error().message);
    }
    vcpus_.push_back(std::move(*vcpu));
  }
  return {};
}

Vm::~Vm() {
  std::string stuck;
  stop_vcpus(std::chrono::milliseconds(2000), &stuck);
  if (vcpus_started_) std::fprintf(stderr, "voidbox-vmm: %s\n", exit_summary().c_str());
  mmio_.clear();  // devices stop their threads before RAM goes away
  if (serial_) serial_->flush();
}

Result<void> Vm::set_device_path(DevicePath path) {
  if (!mmio_.empty()) return fail("the device path must be chosen before devices are attached");
  const EventCapabilities caps = probe_event_capabilities(vm_.get());
  std::string missing;
  if (!caps.ioeventfd) missing += " KVM_CAP_IOEVENTFD";
  if (!caps.irqfd) missing += " KVM_CAP_IRQFD";
  if (!caps.irqfd_resample) missing += " KVM_CAP_IRQFD_RESAMPLE";
  if (path == DevicePath::kEvent && !missing.empty()) {
    return fail("device_path \"event\" needs" + missing + ", which this host's KVM lacks");
  }
  if (path == DevicePath::kIoeventfd && !caps.ioeventfd) {
    return fail("device_path \"ioeventfd\" needs KVM_CAP_IOEVENTFD, which this host's KVM lacks");
  }
  ioeventfd_ = path == DevicePath::kIoeventfd || (path != DevicePath::kSync && missing.empty());
  irqfd_ = ioeventfd_ && path != DevicePath::kIoeventfd;
  std::fprintf(stderr, "voidbox-vmm: device path: %s\n",
               irqfd_       ? "event (ioeventfd notifies, resampling irqfds, a thread per device)"
               : ioeventfd_ ? "ioeventfd (ioeventfd notifies, KVM_IRQ_LINE interrupts)"
               : path == DevicePath::kSync ? "sync (forced by the config)"
                                           : ("sync (host lacks" + missing + ")").c_str());
  return {};
}

Result<void> Vm::add_virtio_device(std::unique_ptr<voidbox::virtio::Device> device) {
  if (mmio_.size() >= layout::kMaxVirtioDevices) return fail("too many virtio devices");
  const auto index = static_cast<std::uint32_t>(mmio_.size());
  VirtioSlot::Params p;
  p.vm_fd = vm_.get();
  p.base = layout::kVirtioMmioBase + index * layout::kVirtioMmioStride;
  p.gsi = layout::kVirtioFirstGsi + index;
  p.ioeventfd = ioeventfd_;
  p.irqfd = irqfd_;
  p.set_irq_line = [this](std::uint32_t gsi, bool level) { set_irq_line(gsi, level); };
  auto slot = VirtioSlot::create(std::move(p), std::move(device), ram_.memory());
  if (!slot) return std::unexpected(slot.error());
  mmio_.push_back(std::move(*slot));
  return {};
}

std::string Vm::exit_summary() const {
  ExitCounts sum;
  for (const auto& vcpu : vcpus_) {
    const ExitCounts c = vcpu->exit_counts();
    sum.total += c.total;
    sum.mmio += c.mmio;
    sum.pio += c.pio;
  }
  std::string out = "exits: " + std::to_string(sum.total) + " total, " + std::to_string(sum.mmio) +
                    " mmio, " + std::to_string(sum.pio) + " pio; device path " +
                    (irqfd_       ? "event"
                     : ioeventfd_ ? "ioeventfd"
                                  : "sync") +
                    ";";
  for (const auto& slot : mmio_) {
    out += " " + slot->name() + ": " + std::to_string(slot->mmio_exits()) + " mmio exits, " +
           std::to_string(slot->thread_notifies()) + " thread notifies, " +
           std::to_string(slot->notify_busy_ns() / 1'000'000) + " ms serving notifies;";
  }
  out.pop_back();
  return out;
}

Result<void> Vm::boot() {
  AcpiInputs acpi{spec_.vcpus, {}};
  for (const auto& slot : mmio_)
    acpi.virtio_mmio.push_back({slot->base(), layout::kVirtioMmioSize, slot->gsi()});
  auto rsdp = write_acpi_tables(ram_, acpi);
  if (!rsdp) return std::unexpected(rsdp.error());
  if (auto r = write_boot_structures(ram_); !r) return r;
  auto entry = load_kernel(ram_, {spec_.kernel, spec_.initramfs, spec_.cmdline, *rsdp});
  if (!entry) return std::unexpected(entry.error());
  if (auto r = set_boot_registers(vcpus_.front()->fd(), entry->entry, entry->zero_page); !r)
    return r;
  Vcpu::install_kick_signal();
  for (auto& vcpu : vcpus_) vcpu->start(*this, stop_);
  vcpus_started_ = true;
  return {};
}

void Vm::set_irq_line(std::uint32_t gsi, bool level) {
  kvm_irq_level irq{};
  irq.irq = gsi;
  irq.level = level ? 1 : 0;
  ::ioctl(vm_.get(), KVM_IRQ_LINE, &irq);
}

void Vm::notify() {
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(event_fd_.get(), &one, sizeof one);
}

void Vm::drain_events() {
  std::uint64_t v = 0;
  [[maybe_unused]] ssize_t n = ::read(event_fd_.get(), &v, sizeof v);
}

std::optional<VmOutcome> Vm::outcome() const {
  std::lock_guard lock(mu_);
  return outcome_;
}

BootStats Vm::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Vm::vm_ended(VmOutcome outcome) {
  {
    std::lock_guard lock(mu_);
    if (outcome_) return;
    // A reset right after a console panic message is the panic's reboot.
    if (outcome.end == VmEnd::kReboot && panic_seen_.load()) {
      outcome = {VmEnd::kPanic, "kernel panic (console), then " + outcome.detail};
    }
    outcome_ = std::move(outcome);
  }
  stop_.store(true, std::memory_order_release);
  for (auto& vcpu : vcpus_) vcpu->kick();
  notify();
}

void Vm::first_entry(std::uint32_t vcpu) {
  if (vcpu != 0) return;
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  const double cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                        (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
  {
    std::lock_guard lock(mu_);
    stats_.first_kvm_run_ns = monotonic_ns();
    stats_.cpu_ms_at_first_kvm_run = cpu_ms;
  }
  notify();
}

void Vm::on_console_line(const std::string& line) {
  if (line.find("Kernel panic - not syncing") != std::string::npos) panic_seen_.store(true);
}

void Vm::pio_read(std::uint16_t port, std::span<std::uint8_t> data) {
  std::fill(data.begin(), data.end(), 0xff);  // nothing there: floating bus
  if (port >= layout::kSerialPort && port < layout::kSerialPort + 8 && data.size() == 1) {
    data[0] = serial_->read(static_cast<std::uint8_t>(port - layout::kSerialPort));
  } else if (port == layout::kI8042CommandPort) {
    data[0] = 0;  // controller idle: the kernel's reset path polls this
  } else if (port == layout::kPvpanicPort) {
    data[0] = 0x3;  // pvpanic capabilities: PANICKED | CRASH_LOADED
  } else if (port == layout::kSleepStatusPort || port == layout::kSleepControlPort) {
    data[0] = 0;
  }
}

void Vm::pio_write(std::uint16_t port, std::span<const std::uint8_t> data) {
  if (data.empty()) return;
  const std::uint8_t v = data[0];
  if (port >= layout::kSerialPort && port < layout::kSerialPort + 8) {
    serial_->write(static_cast<std::uint8_t>(port - layout::kSerialPort), v);
  } else if (port == layout::kI8042CommandPort && v == 0xfe) {
    vm_ended({VmEnd::kReboot, "guest reset through the i8042 controller"});
  } else if (port == layout::kBootReadyPort) {
    bool first = false;
    {
      std::lock_guard lock(mu_);
      if (stats_.guest_ready_ns == 0) {
        stats_.guest_ready_ns = monotonic_ns();
        first = true;
      }
    }
    if (first) notify();
  } else if (port == layout::kPvpanicPort && (v & 0x1)) {
    panic_seen_.store(true);
    vm_ended({VmEnd::kPanic, "kernel panic (pvpanic)"});
  } else if (port == layout::kSleepControlPort && (v & 0x20) && ((v >> 2) & 0x7) == kSleepTypeS5) {
    vm_ended({VmEnd::kPowerOff, "ACPI power-off (S5)"});
  }
}

void Vm::mmio_read(std::uint64_t addr, std::span<std::uint8_t> data) {
  std::fill(data.begin(), data.end(), 0);
  for (auto& slot : mmio_) {
    if (slot->contains(addr)) return slot->mmio_read(addr, data);
  }
}

void Vm::mmio_write(std::uint64_t addr, std::span<const std::uint8_t> data) {
  for (auto& slot : mmio_) {
    if (slot->contains(addr)) return slot->mmio_write(addr, data);
  }
}

bool Vm::stop_vcpus(std::chrono::milliseconds deadline, std::string* stuck) {
  stop_.store(true, std::memory_order_release);
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (true) {
    bool all = true;
    for (auto& vcpu : vcpus_) {
      if (vcpu->try_join()) continue;
      all = false;
      vcpu->kick();
    }
    if (all) break;
    if (std::chrono::steady_clock::now() >= until) {
      for (auto& v : vcpus_) {
        if (!v->try_join() && stuck != nullptr) *stuck = "vcpu-" + std::to_string(v->index());
      }
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // With the vCPUs gone nothing feeds the rings; a device thread only has
  // its current batch to finish.
  for (auto& slot : mmio_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (!slot->stop_thread(std::max(left, std::chrono::milliseconds(100)))) {
      if (stuck != nullptr) *stuck = "device thread dev-" + slot->name();
      return false;
    }
  }
  return true;
}

}  // namespace voidbox::kvm
