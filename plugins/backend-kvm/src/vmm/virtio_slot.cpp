#include "virtio_slot.hpp"

#include "layout.hpp"

namespace voidbox::kvm {

namespace {

std::string device_name(std::uint32_t type) {
  switch (type) {
    case voidbox::virtio::kDeviceIdBlock:
      return "blk";
    case voidbox::virtio::kDeviceIdVsock:
      return "vsock";
    case voidbox::virtio::kDeviceIdNet:
      return "net";
    case voidbox::virtio::kDeviceId9p:
      return "9p";
    case voidbox::virtio::kDeviceIdFs:
      return "fs";
    default:
      return "virtio" + std::to_string(type);
  }
}

}  // namespace

Result<std::unique_ptr<VirtioSlot>> VirtioSlot::create(
    Params p, std::unique_ptr<voidbox::virtio::Device> device,
    const voidbox::virtio::GuestMemory& memory) {
  std::unique_ptr<VirtioSlot> slot(new VirtioSlot());
  slot->base_ = p.base;
  slot->gsi_ = p.gsi;
  slot->name_ = device_name(device->device_type());
  const std::size_t queues = device->queue_max_sizes().size();
  voidbox::virtio::MmioTransport::IrqCallbacks irq;
  if (p.ioeventfd) {
    const std::uint64_t notify_addr = p.base + voidbox::virtio::MmioTransport::notify_offset();
    for (std::size_t q = 0; q < queues; ++q) {
      auto fd = IoEventFd::assign(p.vm_fd, notify_addr, static_cast<std::uint32_t>(q));
      if (!fd) return std::unexpected(fd.error());
      slot->notify_.push_back(std::move(*fd));
    }
  }
  if (p.irqfd) {
    auto irqfd = IrqFd::assign(p.vm_fd, p.gsi);
    if (!irqfd) return std::unexpected(irqfd.error());
    slot->irqfd_.emplace(std::move(*irqfd));
    // KVM lowers the line at EOI; only raising is ours.
    irq.raise_irq = [fd = &*slot->irqfd_] { fd->trigger(); };
  } else {
    const std::uint32_t gsi = p.gsi;
    irq.raise_irq = [set = p.set_irq_line, gsi] { set(gsi, true); };
    irq.lower_irq = [set = p.set_irq_line, gsi] { set(gsi, false); };
  }
  slot->transport_ =
      std::make_unique<voidbox::virtio::MmioTransport>(std::move(device), memory, std::move(irq));
  if (p.ioeventfd || p.irqfd) {
    std::vector<int> fds;
    for (const auto& fd : slot->notify_) fds.push_back(fd.fd());
    auto* sink = dynamic_cast<voidbox::virtio::NotifyEventSink*>(&slot->transport_->device());
    voidbox::virtio::DeviceThread::Options o;
    if (sink == nullptr || !sink->adopt_notify_fds(fds)) o.queue_notify_fds = std::move(fds);
    if (slot->irqfd_) {
      o.resample_fd = slot->irqfd_->resample_fd();
      o.on_resample = [s = slot.get()] { s->on_resample(); };
    }
    o.name = "dev-" + slot->name_;
    auto thread = voidbox::virtio::DeviceThread::start(*slot->transport_, std::move(o));
    if (!thread) return fail(slot->name_ + ": " + thread.error());
    slot->thread_ = std::move(*thread);
  }
  return slot;
}

VirtioSlot::~VirtioSlot() {
  thread_.reset();
  transport_.reset();
}

void VirtioSlot::on_resample() {
  // Level semantics: the guest's EOI lowered the line; a bit it has not
  // acknowledged yet (set after its status read) keeps the line up.
  if (transport_->interrupt_status() != 0) irqfd_->trigger();
}

bool VirtioSlot::contains(std::uint64_t addr) const {
  return addr >= base_ && addr - base_ < layout::kVirtioMmioSize;
}

void VirtioSlot::mmio_read(std::uint64_t addr, std::span<std::uint8_t> data) {
  mmio_exits_.fetch_add(1, std::memory_order_relaxed);
  transport_->read(addr - base_, std::as_writable_bytes(data));
}

void VirtioSlot::mmio_write(std::uint64_t addr, std::span<const std::uint8_t> data) {
  mmio_exits_.fetch_add(1, std::memory_order_relaxed);
  if (addr - base_ != voidbox::virtio::MmioTransport::notify_offset()) {
    transport_->write(addr - base_, std::as_bytes(data));
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  transport_->write(addr - base_, std::as_bytes(data));
  sync_notify_ns_.fetch_add(
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now() - start)
                                     .count()),
      std::memory_order_relaxed);
}

bool VirtioSlot::stop_thread(std::chrono::milliseconds deadline) {
  return thread_ == nullptr || thread_->stop(deadline);
}

}  // namespace voidbox::kvm
