// A FrameFilter with a fake clock, a fake resolver and everything it sends
// to the guest or reports captured.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "filter/frame_filter.hpp"
#include "test_frames.hpp"

namespace voidbox::net::testing {

// Holds lookups until the test completes them, as the transport's
// asynchronous resolver would.
class FakeResolver : public Resolver {
 public:
  struct Lookup {
    std::string name;
    Callback done;
  };
  void resolve(const std::string& name, Callback done) override {
    lookups.push_back({name, std::move(done)});
  }
  void answer(std::vector<Ipv4> addresses, std::uint32_t ttl) {
    auto lookup = std::move(lookups.front());
    lookups.pop_front();
    lookup.done(ResolvedAddresses{std::move(addresses), ttl});
  }
  void fail(ResolveError error) {
    auto lookup = std::move(lookups.front());
    lookups.pop_front();
    lookup.done(std::unexpected(error));
  }
  std::deque<Lookup> lookups;
};

struct FilterHarness {
  explicit FilterHarness(PolicyConfig config = {})
      : filter(std::make_unique<FrameFilter>(
            config, FilterHooks{[this](std::span<const std::uint8_t> f) {
                                  sent.emplace_back(f.begin(), f.end());
                                },
                                [this](const Denial& d) { denials.push_back(d); },
                                [this] { return now; }, &resolver})) {}

  Verdict feed(const Bytes& frame) { return filter->filter(frame); }
  Bytes take_sent() {
    if (sent.empty()) return {};
    Bytes out = std::move(sent.front());
    sent.erase(sent.begin());
    return out;
  }

  Clock::time_point now = Clock::time_point{} + std::chrono::hours(1);
  FakeResolver resolver;
  std::vector<Bytes> sent;
  std::vector<Denial> denials;
  std::unique_ptr<FrameFilter> filter;
};

inline PolicyConfig allowlist(std::vector<std::string> domains) {
  PolicyConfig config;
  config.allow_domains = std::move(domains);
  return config;
}

}  // namespace voidbox::net::testing
