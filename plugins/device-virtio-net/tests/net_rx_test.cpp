// Peer -> guest through frame_port(), driven from the driver side: mergeable
// and single-buffer placement, the header flags, the backlog and its bounds,
// and what arrives when the device cannot take it.
#include <gtest/gtest.h>

#include <random>

#include "net_test_support.hpp"

namespace voidbox::net {
namespace {

using namespace testing;

constexpr std::uint64_t kNoEventIdx = kAllFeatures & ~virtio::kFeatureEventIdx;

// Reads one received frame back: num_buffers used entries starting now.
struct Received {
  NetHdr hdr;
  Bytes frame;
  std::vector<std::uint32_t> lens;
};

Received receive(NetHarness& h, const std::vector<std::uint64_t>& addr_of_head) {
  Received r;
  Bytes all;
  auto first = h.rxq.pop_used();
  if (!first) return r;
  auto take = [&](const virtio::testing::UsedElem& e) {
    r.lens.push_back(e.len);
    Bytes part = h.ram.read(addr_of_head.at(e.id), e.len);
    all.insert(all.end(), part.begin(), part.end());
  };
  take(*first);
  if (all.size() < kNetHdrSize) return r;
  r.hdr = decode_hdr(std::span<const std::byte, kNetHdrSize>(all.data(), kNetHdrSize));
  for (int i = 1; i < r.hdr.num_buffers; ++i) {
    auto e = h.rxq.pop_used();
    if (!e) break;
    take(*e);
  }
  r.frame.assign(all.begin() + kNetHdrSize, all.end());
  return r;
}

// Posts buffers and remembers, by descriptor head, where each lives.
std::vector<std::uint64_t>& post(NetHarness& h, std::vector<std::uint64_t>& by_head, int count,
                                 std::uint32_t size) {
  if (by_head.empty()) by_head.resize(256);
  for (int i = 0; i < count; ++i) {
    const std::uint64_t a = h.ram.alloc(size);
    by_head.at(h.rxq.add_chain({{a, size, true}})) = a;
  }
  return by_head;
}

TEST(NetRxTest, MergeableFrameSpansSeveralBuffers) {
  NetHarness h;
  ASSERT_TRUE(h.start(kNoEventIdx));
  std::vector<std::uint64_t> where;
  post(h, where, 5, 500);
  const Bytes frame = pattern(1514);
  EXPECT_EQ(h.inject(frame), VB_OK);
  Received r = receive(h, where);
  EXPECT_EQ(r.hdr.num_buffers, 4);
  EXPECT_EQ(r.lens, (std::vector<std::uint32_t>{500, 500, 500, 26}));
  EXPECT_EQ(r.hdr.flags, kHdrFlagDataValid);
  EXPECT_EQ(r.hdr.gso_type, kGsoNone);
  EXPECT_EQ(r.frame, frame);
  EXPECT_EQ(h.irqs.load(), 1);
  // The fifth buffer, popped for nothing, is first in line for the next frame.
  const Bytes small = pattern(100, 9);
  EXPECT_EQ(h.inject(small), VB_OK);
  Received r2 = receive(h, where);
  EXPECT_EQ(r2.hdr.num_buffers, 1);
  EXPECT_EQ(r2.frame, small);
  EXPECT_EQ(h.dev->counters().rx_frames, 2u);
  EXPECT_EQ(h.dev->counters().rx_bytes, 1614u);
}

TEST(NetRxTest, WithoutMergeableBuffersOneChainPerFrame) {
  NetHarness h;
  ASSERT_TRUE(h.start(kNoEventIdx & ~kFeatureMrgRxbuf & ~kFeatureGuestCsum));
  std::vector<std::uint64_t> where;
  post(h, where, 1, 2048);
  const Bytes frame = pattern(1514, 4);
  EXPECT_EQ(h.inject(frame), VB_OK);
  Received r = receive(h, where);
  EXPECT_EQ(r.hdr.num_buffers, 1);
  EXPECT_EQ(r.hdr.flags, 0);  // no GUEST_CSUM: no DATA_VALID
  EXPECT_EQ(r.lens, std::vector<std::uint32_t>{1526});
  EXPECT_EQ(r.frame, frame);
  // A frame bigger than the buffer is dropped; the buffer waits for the next.
  post(h, where, 1, 200);
  EXPECT_EQ(h.inject(pattern(1000)), VB_ERR_IO);
  EXPECT_EQ(h.dev->counters().rx_drop_no_room, 1u);
  EXPECT_FALSE(h.rxq.pop_used());
  const Bytes small = pattern(150, 5);
  EXPECT_EQ(h.inject(small), VB_OK);
  EXPECT_EQ(receive(h, where).frame, small);
}

TEST(NetRxTest, AFrameBiggerThanTheWholeRingIsDroppedNotStuck) {
  NetHarness h(R"({"mtu":9000})");
  ASSERT_TRUE(h.start(kNoEventIdx));
  std::vector<std::uint64_t> where;
  post(h, where, 256, 16);  // 4 KiB of buffers in all
  EXPECT_EQ(h.inject(pattern(5000)), VB_ERR_IO);
  EXPECT_EQ(h.dev->counters().rx_drop_no_room, 1u);
  EXPECT_FALSE(h.rxq.pop_used());
  const Bytes small = pattern(100, 8);
  EXPECT_EQ(h.inject(small), VB_OK);
  Received r = receive(h, where);
  EXPECT_EQ(r.hdr.num_buffers, 7);  // 112 bytes in 16-byte buffers
  EXPECT_EQ(r.frame, small);
}

TEST(NetRxTest, BacklogWaitsForBuffersThenDeliversInOrderWithOneInterrupt) {
  NetHarness h;
  ASSERT_TRUE(h.start(kNoEventIdx));
  std::vector<Bytes> sent;
  for (unsigned i = 0; i < 3; ++i) {
    sent.push_back(pattern(200 + i, i));
    EXPECT_EQ(h.inject(sent.back()), VB_OK);
  }
  EXPECT_EQ(h.dev->counters().rx_backlogged, 3u);
  EXPECT_EQ(h.rxq.used_idx(), 0);
  EXPECT_EQ(h.irqs.load(), 0);
  std::vector<std::uint64_t> where;
  post(h, where, 3, 1536);
  h.driver->notify(kRxQueue);
  EXPECT_EQ(h.irqs.load(), 1);
  for (const Bytes& f : sent) EXPECT_EQ(receive(h, where).frame, f);
  EXPECT_EQ(h.dev->counters().rx_frames, 3u);
}

TEST(NetRxTest, BacklogDropsPastItsFrameBound) {
  NetHarness h(R"({"rx_backlog_frames":4})");
  ASSERT_TRUE(h.start(kNoEventIdx));
  int ok = 0;
  for (int i = 0; i < 6; ++i) ok += h.inject(pattern(64)) == VB_OK;
  EXPECT_EQ(ok, 4);
  EXPECT_EQ(h.dev->counters().rx_drop_backlog_full, 2u);
}

TEST(NetRxTest, BacklogDropsPastItsByteBound) {
  NetHarness h(R"({"mtu":65535,"rx_backlog_frames":4096})");
  ASSERT_TRUE(h.start(kNoEventIdx));
  int ok = 0;
  for (int i = 0; i < 20; ++i) ok += h.inject(pattern(65000)) == VB_OK;
  EXPECT_EQ(ok, static_cast<int>(kRxBacklogBytes / (65000 + 4)));
  EXPECT_EQ(h.dev->counters().rx_drop_backlog_full, 20u - ok);
}

TEST(NetRxTest, BacklogKeepsOrderAcrossItsRingWrapping) {
  // Four frames in, three buffers out per round: the backlog grows by one
  // frame a round and its byte ring wraps several times before the end.
  NetHarness h(R"({"mtu":65535})");
  ASSERT_TRUE(h.start(kNoEventIdx));
  std::mt19937 rng(3);
  std::vector<Bytes> sent, got;
  std::vector<std::uint64_t> where(256);
  std::vector<std::uint64_t> buffers;
  for (int i = 0; i < 4; ++i) buffers.push_back(h.ram.alloc(20000 + 12));
  unsigned next = 0, posted = 0;
  auto deliver_one = [&] {
    const std::uint64_t a = buffers[posted++ % buffers.size()];
    where.at(h.rxq.add_chain({{a, 20000 + 12, true}})) = a;
    h.driver->notify(kRxQueue);
    got.push_back(receive(h, where).frame);
  };
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 4; ++i) {
      sent.push_back(pattern(1000 + rng() % 19000, next++));
      ASSERT_EQ(h.inject(sent.back()), VB_OK) << "frame " << next;
    }
    for (int i = 0; i < 3; ++i) deliver_one();
  }
  while (got.size() < sent.size()) deliver_one();
  EXPECT_EQ(got, sent);
  EXPECT_EQ(h.dev->counters().rx_drop_backlog_full, 0u);
}

TEST(NetRxTest, WhatTheDeviceCannotTakeIsDroppedAndCounted) {
  NetHarness h;
  EXPECT_EQ(h.inject(pattern(100)), VB_ERR_IO);  // before activate
  EXPECT_EQ(h.dev->counters().rx_drop_not_ready, 1u);
  ASSERT_TRUE(h.start(kNoEventIdx));
  EXPECT_EQ(h.inject(pattern(1519)), VB_ERR_INVALID_ARGUMENT);  // MTU + 18 + 1
  EXPECT_EQ(h.inject(pattern(13)), VB_ERR_INVALID_ARGUMENT);    // no Ethernet header
  EXPECT_EQ(h.inject(Bytes(VB_FRAME_MAX + 1)), VB_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(h.dev->counters().rx_drop_oversize, 3u);
  const vb_frame_port* port = h.dev->frame_port();
  EXPECT_EQ(port->send(port->ctx, nullptr, 60), VB_ERR_INVALID_ARGUMENT);
  // A buffer the device cannot write into goes back empty; the next one is used.
  const std::uint64_t ro = h.ram.alloc(2048);
  h.rxq.add_chain({{ro, 2048, false}});
  std::vector<std::uint64_t> where;
  post(h, where, 1, 2048);
  const Bytes f = pattern(300);
  EXPECT_EQ(h.inject(f), VB_OK);
  auto returned = h.rxq.pop_used();
  ASSERT_TRUE(returned);
  EXPECT_EQ(returned->len, 0u);
  EXPECT_EQ(receive(h, where).frame, f);
  EXPECT_EQ(h.dev->counters().rx_bad_chains, 1u);
  EXPECT_FALSE(h.needs_reset());
}

TEST(NetRxTest, ResetDropsTheBacklogAndStopsDelivery) {
  NetHarness h;
  ASSERT_TRUE(h.start(kNoEventIdx));
  EXPECT_EQ(h.inject(pattern(100)), VB_OK);
  EXPECT_EQ(h.inject(pattern(100)), VB_OK);
  h.driver->write32(virtio::kMmioStatus, 0);
  EXPECT_EQ(h.inject(pattern(100)), VB_ERR_IO);
  FakeQueue rx2{h.ram, 256}, tx2{h.ram, 256};
  FakeQueue* queues[] = {&rx2, &tx2};
  ASSERT_TRUE(h.driver->initialise(kNoEventIdx, queues));
  const std::uint64_t a = h.ram.alloc(2048);
  rx2.add_chain({{a, 2048, true}});
  h.driver->notify(kRxQueue);
  EXPECT_EQ(rx2.used_idx(), 0);  // nothing from before the reset
  EXPECT_EQ(h.inject(pattern(100)), VB_OK);
  EXPECT_EQ(rx2.used_idx(), 1);
}

TEST(NetRxTest, BrokenRxRingNeedsReset) {
  NetHarness h;
  ASSERT_TRUE(h.start(kNoEventIdx));
  h.rxq.set_avail_idx(900);
  EXPECT_EQ(h.inject(pattern(100)), VB_ERR_IO);
  EXPECT_TRUE(h.needs_reset());
  EXPECT_EQ(h.inject(pattern(100)), VB_ERR_IO);
}

}  // namespace
}  // namespace voidbox::net
