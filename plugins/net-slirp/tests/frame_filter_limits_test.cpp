// Connection rate and concurrency limits: refused with an RST when exceeded.
#include <gtest/gtest.h>

#include "filter/connection_tracker.hpp"
#include "filter_harness.hpp"

namespace voidbox::net {
namespace {

using namespace testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

const Ipv4 kServer = ipv4(93, 184, 216, 34);

Bytes syn(std::uint16_t sport) {
  return tcp_frame({.dst = kServer, .sport = sport});
}

PolicyConfig limits(std::uint32_t per_second, std::uint32_t concurrent) {
  PolicyConfig config;
  config.max_connections_per_second = per_second;
  config.max_concurrent_connections = concurrent;
  config.tcp_idle_timeout = seconds(30);
  return config;
}

TEST(FrameFilterLimits, RateLimitRefusesWithRstAndRefillsOverTime) {
  FilterHarness h(limits(5, 100));
  for (std::uint16_t port = 1; port <= 5; ++port) EXPECT_EQ(h.feed(syn(port)), Verdict::pass);
  EXPECT_EQ(h.feed(syn(6)), Verdict::answer);
  ASSERT_EQ(h.sent.size(), 1u);
  EXPECT_EQ(h.sent[0][kL4 + 13], kRst | kAck);
  EXPECT_TRUE(transport_checksum_ok(h.sent[0]));
  ASSERT_EQ(h.denials.size(), 1u);
  EXPECT_EQ(h.denials[0].reason, DenyReason::rate_limit);
  EXPECT_EQ(h.filter->counters().rate_limited, 1u);
  h.now += milliseconds(200);  // one token back at 5 per second
  EXPECT_EQ(h.feed(syn(7)), Verdict::pass);
  EXPECT_EQ(h.feed(syn(8)), Verdict::answer);
}

TEST(FrameFilterLimits, RetransmittedSynCostsNothing) {
  FilterHarness h(limits(2, 100));
  EXPECT_EQ(h.feed(syn(1)), Verdict::pass);
  EXPECT_EQ(h.feed(syn(1)), Verdict::pass);
  EXPECT_EQ(h.feed(syn(1)), Verdict::pass);
  EXPECT_EQ(h.feed(syn(2)), Verdict::pass);
  EXPECT_EQ(h.feed(syn(3)), Verdict::answer);
  EXPECT_EQ(h.filter->active_connections(), 2u);
}

TEST(FrameFilterLimits, ConcurrencyLimitCountsOpenFlows) {
  FilterHarness h(limits(1000, 3));
  for (std::uint16_t port = 1; port <= 3; ++port) EXPECT_EQ(h.feed(syn(port)), Verdict::pass);
  EXPECT_EQ(h.feed(syn(4)), Verdict::answer);
  ASSERT_EQ(h.denials.size(), 1u);
  EXPECT_EQ(h.denials[0].reason, DenyReason::concurrency_limit);
  // FIN closes a flow (its last segments still pass), RST ends one.
  EXPECT_EQ(h.feed(tcp_frame({.dst = kServer, .sport = 1, .flags = kFin | kAck})), Verdict::pass);
  EXPECT_EQ(h.feed(syn(4)), Verdict::pass);
  EXPECT_EQ(h.feed(syn(5)), Verdict::answer);
  EXPECT_EQ(h.feed(tcp_frame({.dst = kServer, .sport = 2, .flags = kRst})), Verdict::pass);
  EXPECT_EQ(h.feed(syn(5)), Verdict::pass);
  EXPECT_EQ(h.filter->active_connections(), 3u);
  EXPECT_EQ(h.filter->counters().concurrency_limited, 2u);
}

TEST(FrameFilterLimits, IdleFlowsTimeOut) {
  FilterHarness h(limits(1000, 2));
  EXPECT_EQ(h.feed(syn(1)), Verdict::pass);
  EXPECT_EQ(h.feed(syn(2)), Verdict::pass);
  h.now += seconds(20);
  EXPECT_EQ(h.feed(tcp_frame({.dst = kServer, .sport = 2, .flags = kAck})), Verdict::pass);
  h.now += seconds(15);  // flow 1 idle for 35 s, flow 2 for 15 s
  EXPECT_EQ(h.feed(syn(3)), Verdict::pass);
  EXPECT_EQ(h.feed(syn(4)), Verdict::answer);
}

TEST(FrameFilterLimits, RefusedConnectionsLeaveNoState) {
  const auto t0 = ConnectionTracker::Clock::time_point{} + seconds(5);
  ConnectionTracker tracker(1, 1, seconds(30), t0);
  const FlowKey a{kGuestAddress, kServer, 1, 80};
  const FlowKey b{kGuestAddress, kServer, 2, 80};
  EXPECT_EQ(tracker.open(a, t0), ConnectionTracker::Admission::admitted);
  EXPECT_EQ(tracker.open(b, t0), ConnectionTracker::Admission::concurrency_limited);
  tracker.reset(a);
  EXPECT_EQ(tracker.open(b, t0), ConnectionTracker::Admission::rate_limited);
  EXPECT_EQ(tracker.tracked(), 0u);
  EXPECT_EQ(tracker.open(b, t0 + seconds(1)), ConnectionTracker::Admission::admitted);
}

TEST(FrameFilterLimits, AFloodStaysBounded) {
  FilterHarness h(limits(50, 64));
  for (std::uint32_t i = 0; i < 3000; ++i) {
    h.feed(syn(static_cast<std::uint16_t>(i)));
    if (i % 100 == 0) h.now += milliseconds(100);
  }
  EXPECT_LE(h.filter->active_connections(), 64u);
  const FilterCounters& c = h.filter->counters();
  EXPECT_EQ(c.frames, 3000u);
  EXPECT_EQ(c.passed + c.answered, 3000u);
  EXPECT_EQ(c.passed, 64u);         // no flow ever closes, so the concurrency limit caps them
  EXPECT_EQ(h.denials.size(), 2u);  // one per reason, not one per SYN
}

}  // namespace
}  // namespace voidbox::net
