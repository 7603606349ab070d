// Guest -> peer, driven from the driver side: the config space and features,
// plain frames, checksum completion, TSO segmentation, and every malformed
// chain counted without a crash.
#include <gtest/gtest.h>

#include <bit>

#include "net_test_support.hpp"

namespace voidbox::net {
namespace {

using namespace testing;

constexpr std::uint8_t kAck = 0x10, kPsh = 0x08, kFin = 0x01, kCwr = 0x80;

// TCP/IPv4 with a 12-byte option block (as with timestamps): 66 header bytes.
Bytes tcp_frame(std::span<const std::byte> payload, std::uint32_t seq, std::uint8_t flags) {
  Bytes f = ipv4_frame(6, 32, payload);
  set_be16(f, 34, 40000);
  set_be16(f, 36, 80);
  set_be16(f, 38, seq >> 16);
  set_be16(f, 40, seq & 0xffff);
  f[46] = std::byte{0x80};  // data offset 8 words
  f[47] = std::byte{flags};
  set_be16(f, 48, 65000);
  f[54] = f[55] = std::byte{1};  // NOP NOP, then a timestamp option
  f[56] = std::byte{8};
  f[57] = std::byte{10};
  return f;
}

TEST(NetTxTest, OffersFeaturesAndConfigSpace) {
  NetHarness h(R"({"mac":"02:00:00:aa:bb:cc","mtu":1400})");
  ASSERT_TRUE(h.start());
  EXPECT_EQ(h.driver->read32(virtio::kMmioDeviceId), 1u);
  const std::uint64_t f = h.driver->device_features();
  for (std::uint64_t bit :
       {virtio::kFeatureVersion1, kFeatureMac, kFeatureMtu, kFeatureStatus, kFeatureMrgRxbuf,
        kFeatureCsum, kFeatureGuestCsum, kFeatureHostTso4, kFeatureHostEcn}) {
    EXPECT_TRUE(f & bit) << "missing feature bit " << std::countr_zero(bit);
  }
  EXPECT_TRUE(f & kFeatureHostEcn);
  EXPECT_FALSE(f & kFeatureGuestTso4);
  EXPECT_FALSE(f & (1ull << 22));  // MQ
  EXPECT_FALSE(f & (1ull << 17));  // CTRL_VQ
  const std::uint8_t mac[] = {0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc};
  for (std::uint32_t i = 0; i < 6; ++i) EXPECT_EQ(h.driver->read_config<std::uint8_t>(i), mac[i]);
  EXPECT_EQ(h.driver->read_config<std::uint16_t>(6), kLinkUp);
  EXPECT_EQ(h.driver->read_config<std::uint16_t>(8), 1);
  EXPECT_EQ(h.driver->read_config<std::uint16_t>(10), 1400);
  h.driver->write32(virtio::kMmioQueueSel, 1);
  EXPECT_EQ(h.driver->read32(virtio::kMmioQueueNumMax), kQueueMaxSize);
  h.driver->write32(virtio::kMmioQueueSel, 2);
  EXPECT_EQ(h.driver->read32(virtio::kMmioQueueNumMax), 0u);  // no control queue
}

TEST(NetTxTest, PlainFramesReachThePeerByteExactOneInterruptPerBatch) {
  NetHarness h;
  FakePeer peer;
  h.dev->set_peer(peer.port());
  ASSERT_TRUE(h.start());
  std::vector<Bytes> sent;
  for (unsigned i = 0; i < 8; ++i) {
    sent.push_back(pattern(60 + i * 207, i));
    h.send_tx({}, sent.back(), 1 + static_cast<int>(i % 3));
  }
  h.driver->notify(kTxQueue);
  EXPECT_EQ(peer.frames(), sent);
  for (int i = 0; i < 8; ++i) {
    auto used = h.txq.pop_used();
    ASSERT_TRUE(used);
    EXPECT_EQ(used->len, 0u);
  }
  EXPECT_EQ(h.irqs.load(), 1);
  const NetCounters c = h.dev->counters();
  EXPECT_EQ(c.tx_frames, 8u);
  std::uint64_t bytes = 0;
  for (const auto& f : sent) bytes += f.size();
  EXPECT_EQ(c.tx_bytes, bytes);
}

TEST(NetTxTest, NeedsCsumIsCompleted) {
  NetHarness h;
  FakePeer peer;
  h.dev->set_peer(peer.port());
  ASSERT_TRUE(h.start());
  Bytes f = tcp_frame(pattern(1001), 5, kAck);
  set_be16(f, 34 + 16, ref_fold(pseudo_sum(f)));  // CHECKSUM_PARTIAL: the pseudo sum
  h.send_tx({.flags = kHdrFlagNeedsCsum, .csum_start = 34, .csum_offset = 16}, f, 2);
  h.driver->notify(kTxQueue);
  auto frames = peer.frames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(l4_csum_ok(frames[0]));
  Bytes expect = f;
  expect[50] = frames[0][50];
  expect[51] = frames[0][51];
  EXPECT_EQ(frames[0], expect);  // nothing else changed
}

TEST(NetTxTest, TsoPacketBecomesMtuFramesWithValidChecksums) {
  NetHarness h;
  FakePeer peer;
  h.dev->set_peer(peer.port());
  ASSERT_TRUE(h.start());
  const Bytes payload = pattern(65535 - 20 - 32, 3);
  const std::uint32_t seq0 = 0xfffff000;  // wraps during the packet
  Bytes f = tcp_frame(payload, seq0, kAck | kPsh | kFin | kCwr);
  ASSERT_EQ(get_be16(f, 16), 65535);
  h.send_tx({.flags = kHdrFlagNeedsCsum,
             .gso_type = kGsoTcpV4,
             .hdr_len = 66,
             .gso_size = 1448,
             .csum_start = 34,
             .csum_offset = 16},
            f, 17);
  h.driver->notify(kTxQueue);

  const auto frames = peer.frames();
  ASSERT_EQ(frames.size(), (payload.size() + 1447) / 1448);
  Bytes joined;
  std::uint32_t seq = seq0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const Bytes& s = frames[i];
    ASSERT_LE(s.size(), 1514u);
    ASSERT_GE(s.size(), 66u);
    EXPECT_EQ(get_be16(s, 16), s.size() - 14) << "IP total length, segment " << i;
    EXPECT_EQ(get_be16(s, 18), static_cast<std::uint16_t>(0x1234 + i)) << "IP id";
    EXPECT_TRUE(ip_csum_ok(s)) << "segment " << i;
    EXPECT_TRUE(l4_csum_ok(s)) << "segment " << i;
    EXPECT_EQ(get_be32(s, 38), seq) << "segment " << i;
    const auto flags = std::to_integer<std::uint8_t>(s[47]);
    const bool last = i + 1 == frames.size();
    EXPECT_EQ((flags & (kFin | kPsh)) != 0, last) << "segment " << i;
    EXPECT_EQ((flags & kCwr) != 0, i == 0) << "segment " << i;
    EXPECT_TRUE(flags & kAck);
    EXPECT_TRUE(std::equal(s.begin() + 54, s.begin() + 66, f.begin() + 54));  // options kept
    joined.insert(joined.end(), s.begin() + 66, s.end());
    seq += static_cast<std::uint32_t>(s.size() - 66);
  }
  EXPECT_EQ(joined, payload);
  EXPECT_EQ(h.dev->counters().tx_tso_packets, 1u);
  EXPECT_EQ(h.dev->counters().tx_frames, frames.size());
}

TEST(NetTxTest, OversizedGsoSizeIsClampedToTheMtu) {
  NetHarness h(R"({"mtu":576})");
  FakePeer peer;
  h.dev->set_peer(peer.port());
  ASSERT_TRUE(h.start());
  const Bytes payload = pattern(5000);
  h.send_tx({.gso_type = kGsoTcpV4, .gso_size = 9000}, tcp_frame(payload, 1, kAck));
  h.driver->notify(kTxQueue);
  const auto frames = peer.frames();
  ASSERT_EQ(frames.size(), (5000u + 523) / 524);  // 576 - 20 - 32 bytes a segment
  for (const auto& s : frames) EXPECT_LE(s.size(), 576u + 14);
}

TEST(NetTxTest, MalformedChainsAreCountedAndReturned) {
  NetHarness h;
  FakePeer peer;
  h.dev->set_peer(peer.port());
  ASSERT_TRUE(h.start(kAllFeatures & ~virtio::kFeatureEventIdx));
  const Bytes ok = pattern(100);
  // Header only 8 bytes.
  const std::uint64_t short_hdr = h.ram.alloc(8);
  h.txq.add_chain({{short_hdr, 8, false}});
  h.send_tx({}, pattern(1519));  // past MTU + 18
  h.send_tx({}, pattern(10));    // a runt
  h.send_tx({.flags = kHdrFlagNeedsCsum, .csum_start = 90, .csum_offset = 9}, ok);
  h.send_tx({.gso_type = kGsoUdp, .gso_size = 1400}, ok);  // not offered
  h.send_tx({.gso_type = kGsoUdp | kGsoEcn, .gso_size = 1400}, ok);
  h.send_tx({.gso_type = kGsoTcpV4, .gso_size = 1400}, ok);              // not a TCP packet
  h.send_tx({.gso_type = kGsoTcpV4, .gso_size = 1400}, pattern(70000));  // past 64 KiB
  h.txq.add_chain({{h.ram.end() - 4, 64, false}});                       // outside guest RAM
  h.send_tx({}, ok);
  h.driver->notify(kTxQueue);
  EXPECT_EQ(peer.frames(), std::vector<Bytes>{ok});
  int used = 0;
  while (h.txq.pop_used()) ++used;
  EXPECT_EQ(used, 10);
  const NetCounters c = h.dev->counters();
  EXPECT_EQ(c.tx_drop_malformed, 4u);
  EXPECT_EQ(c.tx_drop_oversize, 2u);
  EXPECT_EQ(c.tx_drop_bad_gso, 2u);
  EXPECT_EQ(c.tx_bad_chains, 1u);
  EXPECT_EQ(c.tx_frames, 1u);
  EXPECT_FALSE(h.needs_reset());
}

TEST(NetTxTest, EcnTsoKeepsCwrOnTheFirstSegmentOnlyAndNeedsHostEcn) {
  for (bool negotiated : {true, false}) {
    NetHarness h;
    FakePeer peer;
    h.dev->set_peer(peer.port());
    std::uint64_t features = kAllFeatures & ~virtio::kFeatureEventIdx;
    if (!negotiated) features &= ~kFeatureHostEcn;
    ASSERT_TRUE(h.start(features));
    h.send_tx({.gso_type = kGsoTcpV4 | kGsoEcn, .gso_size = 1448},
              tcp_frame(pattern(4000), 9, kAck | kCwr));
    h.driver->notify(kTxQueue);
    const auto frames = peer.frames();
    if (!negotiated) {
      EXPECT_TRUE(frames.empty());
      EXPECT_EQ(h.dev->counters().tx_drop_bad_gso, 1u);
      continue;
    }
    ASSERT_EQ(frames.size(), 3u);
    for (std::size_t i = 0; i < frames.size(); ++i) {
      EXPECT_EQ((std::to_integer<std::uint8_t>(frames[i][47]) & kCwr) != 0, i == 0);
      EXPECT_TRUE(l4_csum_ok(frames[i]));
    }
  }
}

TEST(NetTxTest, TsoWithoutNegotiationIsDropped) {
  NetHarness h;
  FakePeer peer;
  h.dev->set_peer(peer.port());
  ASSERT_TRUE(h.start(kAllFeatures & ~kFeatureHostTso4 & ~virtio::kFeatureEventIdx));
  h.send_tx({.gso_type = kGsoTcpV4, .gso_size = 1448}, tcp_frame(pattern(3000), 1, kAck));
  h.driver->notify(kTxQueue);
  EXPECT_TRUE(peer.frames().empty());
  EXPECT_EQ(h.dev->counters().tx_drop_bad_gso, 1u);
}

TEST(NetTxTest, NoPeerOrABusyPeerDropsAndCounts) {
  NetHarness h;
  ASSERT_TRUE(h.start());
  h.send_tx({}, pattern(100));
  h.driver->notify(kTxQueue);
  EXPECT_EQ(h.dev->counters().tx_drop_no_peer, 1u);
  FakePeer peer;
  peer.refuse = true;
  h.dev->set_peer(peer.port());
  h.send_tx({}, pattern(100));
  h.driver->notify(kTxQueue);
  EXPECT_EQ(h.dev->counters().tx_drop_peer_busy, 1u);
  EXPECT_EQ(h.dev->counters().tx_frames, 0u);
  EXPECT_EQ(h.txq.used_idx(), 2);
}

TEST(NetTxTest, BrokenAvailIndexNeedsReset) {
  NetHarness h;
  ASSERT_TRUE(h.start());
  h.txq.set_avail_idx(700);
  h.driver->notify(kTxQueue);
  EXPECT_TRUE(h.needs_reset());
}

}  // namespace
}  // namespace voidbox::net
