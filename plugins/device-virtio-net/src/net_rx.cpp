// Peer -> guest: frames arrive through frame_port()->send on the transport's
// thread, and wait in the backlog when the guest has posted no buffer. All
// of it runs with the rx lock held.
#include <algorithm>

#include "net_counters.hpp"
#include "net_device.hpp"

namespace voidbox::net {

vb_status NetDevice::port_send(void* ctx, const std::uint8_t* frame, std::size_t len) {
  if (ctx == nullptr || (frame == nullptr && len != 0)) return VB_ERR_INVALID_ARGUMENT;
  auto* self = static_cast<NetDevice*>(ctx);
  std::lock_guard lock(self->rx_mutex_);
  const std::size_t max =
      std::min<std::size_t>(std::size_t{self->cfg_.mtu} + kEthHeader + kVlanTag, VB_FRAME_MAX);
  if (len < kEthHeader || len > max) {
    bump(self->counters_->rx_drop_oversize);
    return VB_ERR_INVALID_ARGUMENT;
  }
  return self->rx_frame({reinterpret_cast<const std::byte*>(frame), len});
}

vb_status NetDevice::rx_frame(std::span<const std::byte> frame) {
  Counters& c = *counters_;
  if (!rx_active_) {
    bump(c.rx_drop_not_ready);
    return VB_ERR_IO;
  }
  // Older frames first, or the guest would see them out of order.
  if (!backlog_.empty()) rx_drain();
  vb_status status = VB_OK;
  if (backlog_.empty()) {
    switch (rx_place(frame, {})) {
      case Place::kDone:
        break;
      case Place::kNoBuffers:
        if (backlog_.push(frame)) {
          bump(c.rx_backlogged);
        } else {
          bump(c.rx_drop_backlog_full);
          status = VB_ERR_IO;
        }
        break;
      case Place::kDropped:
      case Place::kBroken:
        status = VB_ERR_IO;
        break;
    }
  } else if (backlog_.push(frame)) {
    bump(c.rx_backlogged);
  } else {
    bump(c.rx_drop_backlog_full);
    status = VB_ERR_IO;
  }
  rx_signal();
  return status;
}

void NetDevice::rx_drain() {
  while (!backlog_.empty() && rx_active_) {
    auto [first, second] = backlog_.front();
    const Place p = rx_place(first, second);
    if (p == Place::kNoBuffers) return;
    backlog_.pop();
  }
}

bool NetDevice::rx_take_chain() {
  for (;;) {
    if (rx_held_ == rx_chains_.size()) return false;
    virtio::DescriptorChain& chain = rx_chains_[rx_held_];
    auto popped = rx_queue_->pop_into(chain);
    if (!popped) {
      rx_break();
      return false;
    }
    if (!*popped) return false;
    if (chain.writable_bytes() >= kNetHdrSize) {
      ++rx_held_;
      rx_held_bytes_ += chain.writable_bytes();
      return true;
    }
    // No room even for a header: give it back empty, as the ring does with
    // malformed chains, rather than hold it for ever.
    bump(counters_->rx_bad_chains);
    rx_pending_signal_ = true;
    if (!rx_queue_->add_used(chain.head(), 0)) {
      rx_break();
      return false;
    }
  }
}

NetDevice::Place NetDevice::rx_place(std::span<const std::byte> a, std::span<const std::byte> b) {
  Counters& c = *counters_;
  const std::uint64_t total = kNetHdrSize + a.size() + b.size();
  if (rx_mergeable_) {
    while (rx_held_bytes_ < total) {
      if (rx_held_ >= rx_queue_->config().size) {
        // The whole ring is held and still too small: waiting cannot help.
        bump(c.rx_drop_no_room);
        return Place::kDropped;
      }
      if (!rx_take_chain()) return rx_active_ ? Place::kNoBuffers : Place::kBroken;
    }
  } else {
    if (rx_held_ == 0 && !rx_take_chain()) return rx_active_ ? Place::kNoBuffers : Place::kBroken;
    if (rx_chains_[0].writable_bytes() < total) {
      // Without MRG_RXBUF the driver sizes every buffer alike; the next
      // frame may fit this one.
      bump(c.rx_drop_no_room);
      return Place::kDropped;
    }
  }
  // The fewest held chains that fit the frame, in ring order.
  std::size_t n = 0;
  for (std::uint64_t room = 0; room < total; ++n) room += rx_chains_[n].writable_bytes();

  std::array<std::byte, kNetHdrSize> raw;
  encode_hdr({.flags = rx_hdr_flags_, .num_buffers = static_cast<std::uint16_t>(n)}, raw);
  const std::span<const std::byte> pieces[] = {raw, a, b};
  std::size_t piece = 0, offset = 0;
  const virtio::GuestMemory& mem = rx_queue_->memory();
  for (std::size_t i = 0; i < n; ++i) {
    virtio::ChainWriter writer(mem, rx_chains_[i]);
    while (writer.remaining() > 0 && piece < std::size(pieces)) {
      const auto rest = pieces[piece].subspan(offset);
      const std::size_t want = std::min<std::uint64_t>(rest.size(), writer.remaining());
      const std::size_t done = writer.write(rest.first(want));
      offset += done;
      if (offset == pieces[piece].size()) {
        ++piece;
        offset = 0;
      } else if (done < want) {
        break;  // the buffer left guest memory: what was written stands
      }
    }
    rx_held_bytes_ -= rx_chains_[i].writable_bytes();
    if (!rx_queue_->add_used(rx_chains_[i].head(), static_cast<std::uint32_t>(writer.written()))) {
      rx_break();
      return Place::kBroken;
    }
  }
  // Chains popped beyond this frame stay held, first in line for the next.
  std::rotate(rx_chains_.begin(), rx_chains_.begin() + static_cast<std::ptrdiff_t>(n),
              rx_chains_.begin() + static_cast<std::ptrdiff_t>(rx_held_));
  rx_held_ -= n;
  rx_pending_signal_ = true;
  bump(c.rx_frames);
  bump(c.rx_bytes, a.size() + b.size());
  return Place::kDone;
}

void NetDevice::rx_signal() {
  if (!rx_pending_signal_ || !rx_queue_) return;
  rx_pending_signal_ = false;
  if (rx_queue_->needs_notification() && interrupt_) interrupt_->signal_used_queue(kRxQueue);
}

void NetDevice::rx_break() {
  rx_active_ = false;
  rx_held_ = 0;
  rx_held_bytes_ = 0;
  backlog_.clear();
  if (interrupt_) interrupt_->signal_needs_reset();
}

}  // namespace voidbox::net
