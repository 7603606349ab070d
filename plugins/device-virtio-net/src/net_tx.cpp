// Guest -> peer: each tx chain is a virtio_net_hdr_v1 and one frame (or, with
// HOST_TSO4, one TCP/IPv4 super-packet). Runs in queue_notify(tx) with the
// peer lock held for the whole batch.
#include "net_counters.hpp"
#include "net_device.hpp"

namespace voidbox::net {

void NetDevice::tx_batch() {
  if (!tx_queue_ || tx_broken_) return;
  Counters& c = *counters_;
  const std::uint64_t bad_before = tx_queue_->stats().chains_dropped;
  for (;;) {
    auto popped = tx_queue_->pop_into(tx_chain_);
    if (popped && !*popped) break;
    if (popped) tx_chain(tx_chain_);
    if (!popped || !tx_queue_->add_used(tx_chain_.head(), 0)) {
      // The ring itself is broken (avail index ran ahead): only a reset helps.
      tx_broken_ = true;
      if (interrupt_) interrupt_->signal_needs_reset();
      return;
    }
  }
  bump(c.tx_bad_chains, tx_queue_->stats().chains_dropped - bad_before);
  if (tx_queue_->needs_notification() && interrupt_) interrupt_->signal_used_queue(kTxQueue);
}

void NetDevice::tx_chain(const virtio::DescriptorChain& chain) {
  Counters& c = *counters_;
  if (chain.readable_bytes() < kNetHdrSize) return bump(c.tx_drop_malformed);
  const std::uint64_t len = chain.readable_bytes() - kNetHdrSize;
  virtio::ChainReader reader(tx_queue_->memory(), chain);
  std::array<std::byte, kNetHdrSize> raw;
  reader.read(raw);
  const NetHdr hdr = decode_hdr(raw);

  const std::uint8_t gso = hdr.gso_type & static_cast<std::uint8_t>(~kGsoEcn);
  const bool tso = gso == kGsoTcpV4 && tx_tso_limit_ != 0;
  // ECN needs nothing more than TSO does: CWR stays on the first segment only.
  const bool ecn_ok = !(hdr.gso_type & kGsoEcn) || (tso && tx_ecn_);
  if ((gso != kGsoNone && !tso) || !ecn_ok) return bump(c.tx_drop_bad_gso);
  const std::uint64_t limit = tso ? tx_tso_limit_ : std::uint64_t{cfg_.mtu} + kEthHeader + kVlanTag;
  if (len > limit) return bump(c.tx_drop_oversize);
  const std::span<std::byte> frame(tx_buf_.get(), static_cast<std::size_t>(len));
  if (reader.read(frame) != len || len < kEthHeader) return bump(c.tx_drop_malformed);

  if (tso) {
    // Segments carry full checksums of their own; the partial one is moot.
    const std::span<std::byte> scratch(seg_buf_.get(),
                                       std::size_t{cfg_.mtu} + kEthHeader + kVlanTag);
    auto n = segment_tcpv4(frame, hdr.gso_size, cfg_.mtu, scratch, &NetDevice::tx_sink, this);
    if (!n) return bump(c.tx_drop_malformed);
    return bump(c.tx_tso_packets);
  }
  if ((hdr.flags & kHdrFlagNeedsCsum) && !complete_csum(frame, hdr.csum_start, hdr.csum_offset)) {
    return bump(c.tx_drop_malformed);
  }
  tx_emit(frame);
}

void NetDevice::tx_sink(void* ctx, std::span<const std::byte> frame) {
  static_cast<NetDevice*>(ctx)->tx_emit(frame);
}

void NetDevice::tx_emit(std::span<const std::byte> frame) {
  Counters& c = *counters_;
  if (peer_ == nullptr) return bump(c.tx_drop_no_peer);
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(frame.data());
  if (peer_->send(peer_->ctx, bytes, frame.size()) != VB_OK) return bump(c.tx_drop_peer_busy);
  bump(c.tx_frames);
  bump(c.tx_bytes, frame.size());
}

}  // namespace voidbox::net
