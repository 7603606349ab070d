// What describe() reports, kept apart from the loop's own state: the loop
// thread publishes into it, any thread reads it.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "filter/frame_filter.hpp"
#include "transport/transport_config.hpp"

namespace voidbox::net {

// The short name of a reason as logs and describe() spell it: "reserved_range".
std::string_view reason_code(DenyReason reason);
std::string_view protocol_name(IpProtocol protocol);
// "denied tcp 169.254.169.254:80 (reserved_range)"
std::string denial_message(const Denial& denial);

class TransportStatus {
 public:
  // Denials kept for describe(); the filter counts the rest.
  static constexpr std::size_t kMaxDenials = 64;

  void set_forwards(std::vector<PortForward> forwards);
  void publish(const FilterCounters& counters);
  void add_denial(const Denial& denial);

  std::atomic<std::uint64_t> frames_to_guest{0};
  std::atomic<std::uint64_t> to_guest_drops{0};  // the device refused them
  std::atomic<std::uint64_t> queue_drops{0};     // guest frames dropped, queue full
  std::atomic<std::uint64_t> oversize_drops{0};  // guest frames over the MTU

  // {"forwards":[...], "counters":{...}, "denials":[...]}
  std::string describe() const;

 private:
  mutable std::mutex mutex_;
  std::vector<PortForward> forwards_;
  FilterCounters counters_;
  std::vector<Denial> denials_;
};

}  // namespace voidbox::net
