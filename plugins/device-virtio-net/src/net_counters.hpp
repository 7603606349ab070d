// The device's counters as atomics, so counters() may read them from any
// thread. Each is written by one side only (TX under the peer lock, RX under
// the rx lock), so a relaxed load and store is enough: no locked RMW per frame.
#pragma once

#include <atomic>
#include <cstdint>

#include "net_device.hpp"

namespace voidbox::net {

#define VB_NET_COUNTERS(X)                                                            \
  X(tx_frames)                                                                        \
  X(tx_bytes)                                                                         \
  X(tx_tso_packets)                                                                   \
  X(tx_drop_no_peer)                                                                  \
  X(tx_drop_peer_busy) X(tx_drop_oversize) X(tx_drop_malformed) X(tx_drop_bad_gso)    \
      X(tx_bad_chains) X(rx_frames) X(rx_bytes) X(rx_backlogged) X(rx_drop_not_ready) \
          X(rx_drop_oversize) X(rx_drop_backlog_full) X(rx_drop_no_room) X(rx_bad_chains)

struct NetDevice::Counters {
#define VB_NET_DECLARE(name) std::atomic<std::uint64_t> name{0};
  VB_NET_COUNTERS(VB_NET_DECLARE)
#undef VB_NET_DECLARE
};

inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace voidbox::net
