// KVM's eventfd doorbells for one virtio-mmio device:
//  - IoEventFd: KVM_IOEVENTFD on the QueueNotify register with datamatch on
//    one queue index, so a guest notify of that queue signals an eventfd
//    inside the kernel instead of exiting to the VMM;
//  - IrqFd: KVM_IRQFD with KVM_IRQFD_FLAG_RESAMPLE on the device's GSI (routed
//    to the in-kernel IOAPIC). virtio-mmio's interrupt is level-triggered
//    (the DSDT says so): a trigger raises the line and it stays up until the
//    guest's EOI, when KVM lowers it and signals the resample eventfd; the
//    owner then re-triggers if InterruptStatus is still non-zero. A plain
//    irqfd would only pulse the line, and a pulse that lands while the guest
//    is still in the handler of the previous one is lost on a level pin.
#pragma once

#include <cstdint>

#include "result.hpp"
#include "unique_fd.hpp"

namespace voidbox::kvm {

struct EventCapabilities {
  bool ioeventfd = false;       // KVM_CAP_IOEVENTFD
  bool irqfd = false;           // KVM_CAP_IRQFD
  bool irqfd_resample = false;  // KVM_CAP_IRQFD_RESAMPLE
};

// KVM_CHECK_EXTENSION on the VM fd (answers for this VM; the /dev/kvm fd works too).
EventCapabilities probe_event_capabilities(int kvm_fd);

class IoEventFd {
 public:
  static Result<IoEventFd> assign(int vm_fd, std::uint64_t addr, std::uint32_t datamatch);
  IoEventFd(IoEventFd&& o) noexcept;
  IoEventFd& operator=(IoEventFd&&) = delete;
  ~IoEventFd();  // deassigns before closing

  int fd() const { return fd_.get(); }

 private:
  IoEventFd(int vm_fd, std::uint64_t addr, std::uint32_t datamatch, UniqueFd fd)
      : vm_fd_(vm_fd), addr_(addr), datamatch_(datamatch), fd_(std::move(fd)) {}
  int vm_fd_;
  std::uint64_t addr_;
  std::uint32_t datamatch_;
  UniqueFd fd_;
};

class IrqFd {
 public:
  static Result<IrqFd> assign(int vm_fd, std::uint32_t gsi);
  IrqFd(IrqFd&& o) noexcept;
  IrqFd& operator=(IrqFd&&) = delete;
  ~IrqFd();

  // Raises the line (thread-safe: one eventfd write).
  void trigger() const;
  // Readable after each guest EOI of this line.
  int resample_fd() const { return resample_.get(); }

 private:
  IrqFd(int vm_fd, std::uint32_t gsi, UniqueFd fd, UniqueFd resample)
      : vm_fd_(vm_fd), gsi_(gsi), fd_(std::move(fd)), resample_(std::move(resample)) {}
  int vm_fd_;
  std::uint32_t gsi_;
  UniqueFd fd_;
  UniqueFd resample_;
};

}  // namespace voidbox::kvm
