// Limits on the guest's outgoing TCP connections: a token bucket for the
// connection rate and a flow table (by 5-tuple) for concurrency.
//
// libslirp opens a host socket for each guest SYN, so these bound what a
// guest can make the VMM do. A flow opens on SYN, stops counting on FIN
// (lingering a while so the closing handshake still passes) and ends on RST
// or after the idle timeout.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <map>

#include "filter/net_types.hpp"

namespace voidbox::net {

struct FlowKey {
  Ipv4 source = 0;
  Ipv4 destination = 0;
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
  friend auto operator<=>(const FlowKey&, const FlowKey&) = default;
};

class ConnectionTracker {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Admission { existing, admitted, rate_limited, concurrency_limited };

  ConnectionTracker(std::uint32_t per_second, std::uint32_t max_concurrent,
                    std::chrono::seconds idle_timeout, Clock::time_point now);

  // A SYN. A retransmitted SYN of a known flow is `existing` and costs
  // nothing; a refused one leaves no state behind.
  Admission open(const FlowKey& key, Clock::time_point now);
  void touch(const FlowKey& key, Clock::time_point now);
  void finish(const FlowKey& key, Clock::time_point now);  // FIN
  void reset(const FlowKey& key);                          // RST

  std::size_t active() const { return active_; }
  std::size_t tracked() const { return flows_.size(); }

 private:
  struct Flow {
    Clock::time_point last_seen;
    bool closing = false;
  };
  void refill(Clock::time_point now);
  void expire(Clock::time_point now);
  void erase(std::map<FlowKey, Flow>::iterator it);

  double tokens_;
  double capacity_;
  double per_second_;
  Clock::time_point refilled_at_;
  std::size_t max_concurrent_;
  std::chrono::seconds idle_timeout_;
  std::map<FlowKey, Flow> flows_;
  std::size_t active_ = 0;  // flows not closing
};

}  // namespace voidbox::net
