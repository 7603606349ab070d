#include "kvm_eventfds.hpp"

#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include <string>

namespace voidbox::kvm {

namespace {

bool has_extension(int fd, long cap) {
  return ::ioctl(fd, KVM_CHECK_EXTENSION, cap) > 0;
}

kvm_ioeventfd ioeventfd_request(std::uint64_t addr, std::uint32_t datamatch, int fd) {
  kvm_ioeventfd io{};
  io.datamatch = datamatch;
  io.addr = addr;
  io.len = 4;  // QueueNotify is a 32-bit register
  io.fd = fd;
  io.flags = KVM_IOEVENTFD_FLAG_DATAMATCH;
  return io;
}

}  // namespace

EventCapabilities probe_event_capabilities(int kvm_fd) {
  return {has_extension(kvm_fd, KVM_CAP_IOEVENTFD), has_extension(kvm_fd, KVM_CAP_IRQFD),
          has_extension(kvm_fd, KVM_CAP_IRQFD_RESAMPLE)};
}

Result<IoEventFd> IoEventFd::assign(int vm_fd, std::uint64_t addr, std::uint32_t datamatch) {
  UniqueFd fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!fd.valid()) return fail_errno("eventfd for a queue notify");
  kvm_ioeventfd io = ioeventfd_request(addr, datamatch, fd.get());
  if (::ioctl(vm_fd, KVM_IOEVENTFD, &io) != 0) {
    return fail_errno("KVM_IOEVENTFD at 0x" + std::to_string(addr) + " queue " +
                      std::to_string(datamatch));
  }
  return IoEventFd(vm_fd, addr, datamatch, std::move(fd));
}

IoEventFd::IoEventFd(IoEventFd&& o) noexcept
    : vm_fd_(o.vm_fd_), addr_(o.addr_), datamatch_(o.datamatch_), fd_(std::move(o.fd_)) {}

IoEventFd::~IoEventFd() {
  if (!fd_.valid()) return;
  kvm_ioeventfd io = ioeventfd_request(addr_, datamatch_, fd_.get());
  io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
  ::ioctl(vm_fd_, KVM_IOEVENTFD, &io);
}

Result<IrqFd> IrqFd::assign(int vm_fd, std::uint32_t gsi) {
  UniqueFd fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  UniqueFd resample(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!fd.valid() || !resample.valid()) return fail_errno("eventfd for an irqfd");
  kvm_irqfd req{};
  req.fd = static_cast<std::uint32_t>(fd.get());
  req.gsi = gsi;
  req.flags = KVM_IRQFD_FLAG_RESAMPLE;
  req.resamplefd = static_cast<std::uint32_t>(resample.get());
  if (::ioctl(vm_fd, KVM_IRQFD, &req) != 0) {
    return fail_errno("KVM_IRQFD (resample) for GSI " + std::to_string(gsi));
  }
  return IrqFd(vm_fd, gsi, std::move(fd), std::move(resample));
}

IrqFd::IrqFd(IrqFd&& o) noexcept
    : vm_fd_(o.vm_fd_), gsi_(o.gsi_), fd_(std::move(o.fd_)), resample_(std::move(o.resample_)) {}

IrqFd::~IrqFd() {
  if (!fd_.valid()) return;
  kvm_irqfd req{};
  req.fd = static_cast<std::uint32_t>(fd_.get());
  req.gsi = gsi_;
  req.flags = KVM_IRQFD_FLAG_DEASSIGN;
  ::ioctl(vm_fd_, KVM_IRQFD, &req);
}

void IrqFd::trigger() const {
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(fd_.get(), &one, sizeof one);
}

}  // namespace voidbox::kvm
