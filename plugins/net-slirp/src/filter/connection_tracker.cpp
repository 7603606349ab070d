#include "filter/connection_tracker.hpp"

#include <algorithm>

namespace voidbox::net {
namespace {

// How long a closed flow's last segments still pass, and how many closed
// flows may wait at once (oldest dropped first beyond that).
constexpr std::chrono::seconds kLinger{60};
constexpr std::size_t kMaxLingering = 1024;

}  // namespace

ConnectionTracker::ConnectionTracker(std::uint32_t per_second, std::uint32_t max_concurrent,
                                     std::chrono::seconds idle_timeout, Clock::time_point now)
    : tokens_(per_second),
      capacity_(per_second),
      per_second_(per_second),
      refilled_at_(now),
      max_concurrent_(max_concurrent),
      idle_timeout_(idle_timeout) {}

void ConnectionTracker::refill(Clock::time_point now) {
  if (now <= refilled_at_) return;
  const double elapsed = std::chrono::duration<double>(now - refilled_at_).count();
  tokens_ = std::min(capacity_, tokens_ + elapsed * per_second_);
  refilled_at_ = now;
}

void ConnectionTracker::erase(std::map<FlowKey, Flow>::iterator it) {
  if (!it->second.closing) --active_;
  flows_.erase(it);
}

void ConnectionTracker::expire(Clock::time_point now) {
  std::size_t lingering = 0;
  for (auto it = flows_.begin(); it != flows_.end();) {
    const auto limit = it->second.closing ? kLinger : idle_timeout_;
    if (now - it->second.last_seen >= limit) {
      erase(it++);
    } else {
      lingering += it->second.closing ? 1 : 0;
      ++it;
    }
  }
  while (lingering > kMaxLingering) {
    auto oldest = flows_.end();
    for (auto it = flows_.begin(); it != flows_.end(); ++it) {
      if (it->second.closing &&
          (oldest == flows_.end() || it->second.last_seen < oldest->second.last_seen)) {
        oldest = it;
      }
    }
    erase(oldest);
    --lingering;
  }
}

ConnectionTracker::Admission ConnectionTracker::open(const FlowKey& key, Clock::time_point now) {
  if (auto it = flows_.find(key); it != flows_.end()) {
    it->second.last_seen = now;
    if (!it->second.closing) return Admission::existing;
    erase(it);  // the guest reuses the 4-tuple for a new connection
  }
  if (active_ >= max_concurrent_ || flows_.size() >= max_concurrent_ + kMaxLingering) {
    expire(now);
  }
  if (active_ >= max_concurrent_) return Admission::concurrency_limited;
  refill(now);
  if (tokens_ < 1.0) return Admission::rate_limited;
  tokens_ -= 1.0;
  flows_.emplace(key, Flow{now, false});
  ++active_;
  return Admission::admitted;
}

void ConnectionTracker::touch(const FlowKey& key, Clock::time_point now) {
  if (auto it = flows_.find(key); it != flows_.end()) it->second.last_seen = now;
}

void ConnectionTracker::finish(const FlowKey& key, Clock::time_point now) {
  auto it = flows_.find(key);
  if (it == flows_.end()) return;
  it->second.last_seen = now;
  if (!it->second.closing) {
    it->second.closing = true;
    --active_;
  }
}

void ConnectionTracker::reset(const FlowKey& key) {
  if (auto it = flows_.find(key); it != flows_.end()) erase(it);
}

}  // namespace voidbox::net
