#include "voidbox/virtio/virtqueue.hpp"

#include <gtest/gtest.h>

#include <string>

#include "voidbox/virtio/device.hpp"
#include "voidbox/virtio/testing/fake_driver.hpp"

namespace voidbox::virtio {
namespace {

using testing::FakeBuffer;
using testing::FakeGuestRam;
using testing::FakeQueue;

std::vector<std::byte> bytes(std::string_view s) {
  auto p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

struct QueueFixture : ::testing::Test {
  FakeGuestRam ram;
  FakeQueue fq{ram, 16};
  Virtqueue vq{256};

  void activate(std::uint64_t features = 0) {
    vq.set_config(fq.config());
    ASSERT_TRUE(vq.activate(ram.memory(), features).has_value());
  }
  DescriptorChain pop_one() {
    auto r = vq.pop();
    EXPECT_TRUE(r.has_value());
    EXPECT_TRUE(r->has_value());
    return std::move(**r);
  }
  bool pop_empty() {
    auto r = vq.pop();
    return r.has_value() && !r->has_value();
  }
};

TEST(GuestMemoryTest, SliceChecksBoundsAndOverflow) {
  FakeGuestRam ram(4096, 0x1000);
  GuestMemory mem = ram.memory();
  EXPECT_TRUE(mem.slice(0x1000, 4096).has_value());
  EXPECT_TRUE(mem.slice(0x2000, 0).has_value());
  EXPECT_EQ(mem.slice(0x1000, 4097).error(), MemError::kOutOfBounds);
  EXPECT_EQ(mem.slice(0xfff, 2).error(), MemError::kOutOfBounds);
  EXPECT_EQ(mem.slice(0x1ffc, 8).error(), MemError::kOutOfBounds);
  EXPECT_EQ(mem.slice(~0ull - 1, 4).error(), MemError::kOverflow);
  EXPECT_EQ(mem.slice(0x1800, ~0ull).error(), MemError::kOverflow);
  ASSERT_TRUE(mem.write_le<std::uint32_t>(0x1ffc, 0xdeadbeef).has_value());
  EXPECT_EQ(*mem.read_le<std::uint32_t>(0x1ffc), 0xdeadbeefu);
  EXPECT_FALSE(mem.read_le<std::uint64_t>(0x1ffc).has_value());
}

TEST(GuestMemoryTest, RejectsRangeStraddlingTwoRegions) {
  std::vector<std::byte> a(4096), b(4096);
  MemoryRegion regions[] = {{0x0, 4096, a.data()}, {0x1000, 4096, b.data()}};
  GuestMemory mem(regions);
  EXPECT_TRUE(mem.slice(0xff0, 16).has_value());
  EXPECT_TRUE(mem.slice(0x1000, 16).has_value());
  EXPECT_FALSE(mem.slice(0xff8, 16).has_value());
}

TEST_F(QueueFixture, ActivateValidatesSizeAndRings) {
  Virtqueue q(256);
  QueueConfig c = fq.config();
  c.size = 0;  // never sized: an error, not a crash
  q.set_config(c);
  EXPECT_EQ(q.activate(ram.memory(), 0).error(), QueueError::kBadSize);
  c.size = 12;
  q.set_config(c);
  EXPECT_EQ(q.activate(ram.memory(), 0).error(), QueueError::kBadSize);
  c.size = 512;
  q.set_config(c);
  EXPECT_EQ(q.activate(ram.memory(), 0).error(), QueueError::kBadSize);
  c = fq.config();
  c.desc_addr = ram.end() - 16;  // table runs off the end
  q.set_config(c);
  EXPECT_EQ(q.activate(ram.memory(), 0).error(), QueueError::kBadRing);
  c = fq.config();
  c.used_addr = ~0ull - 3;  // overflowing arithmetic
  q.set_config(c);
  EXPECT_EQ(q.activate(ram.memory(), 0).error(), QueueError::kBadRing);
  c = fq.config();
  c.desc_addr += 8;  // misaligned
  q.set_config(c);
  EXPECT_EQ(q.activate(ram.memory(), 0).error(), QueueError::kBadRing);
  EXPECT_EQ(q.pop().error(), QueueError::kNotActive);
  EXPECT_EQ(q.add_used(0, 0).error(), QueueError::kNotActive);
}

TEST_F(QueueFixture, PopsChainWithReadableAndWritableSegments) {
  activate();
  const auto in = bytes("hello, device");
  const std::uint64_t req = ram.alloc(in.size());
  const std::uint64_t resp = ram.alloc(64);
  ram.write(req, in);
  const std::uint16_t head = fq.add_chain({{req, 5, false}, {req + 5, 8, false}, {resp, 64, true}});
  DescriptorChain chain = pop_one();
  EXPECT_EQ(chain.head(), head);
  EXPECT_EQ(chain.segments().size(), 3u);
  EXPECT_EQ(chain.readable_bytes(), in.size());
  EXPECT_EQ(chain.writable_bytes(), 64u);

  ChainReader reader(vq.memory(), chain);
  std::vector<std::byte> got(100);
  EXPECT_EQ(reader.read(got), in.size());
  got.resize(in.size());
  EXPECT_EQ(got, in);

  ChainWriter writer(vq.memory(), chain);
  const auto out = bytes("reply");
  EXPECT_EQ(writer.write(out), out.size());
  EXPECT_EQ(ram.read(resp, 5), out);
  ASSERT_TRUE(vq.add_used(chain.head(), static_cast<std::uint32_t>(writer.written())));
  auto used = fq.pop_used();
  ASSERT_TRUE(used);
  EXPECT_EQ(used->id, head);
  EXPECT_EQ(used->len, 5u);
  EXPECT_TRUE(pop_empty());
}

TEST_F(QueueFixture, WriterStopsAtEndOfWritableSpace) {
  activate();
  const std::uint64_t a = ram.alloc(3), b = ram.alloc(2);
  fq.add_chain({{a, 3, true}, {b, 2, true}});
  DescriptorChain chain = pop_one();
  ChainWriter writer(vq.memory(), chain);
  EXPECT_EQ(writer.write(bytes("0123456789")), 5u);
  EXPECT_EQ(writer.remaining(), 0u);
  EXPECT_EQ(ram.read(b, 2), bytes("34"));
}

TEST_F(QueueFixture, IndicesWrapAround16Bits) {
  vq.set_config(fq.config());
  QueueState state = vq.save();
  state.next_avail = state.next_used = state.signalled_used = 0xfffe;
  fq.start_indices_at(0xfffe);
  ASSERT_TRUE(vq.restore(ram.memory(), state).has_value());
  const std::uint64_t buf = ram.alloc(8);
  for (int i = 0; i < 5; ++i) fq.add_chain({{buf, 8, true}});
  for (int i = 0; i < 5; ++i) {
    DescriptorChain c = pop_one();
    ASSERT_TRUE(vq.add_used(c.head(), 8));
  }
  EXPECT_TRUE(pop_empty());
  EXPECT_EQ(fq.used_idx(), 3u);  // 0xfffe + 5 mod 2^16
  int seen = 0;
  while (fq.pop_used()) ++seen;
  EXPECT_EQ(seen, 5);
}

TEST_F(QueueFixture, AvailIndexTooFarAheadBreaksQueue) {
  activate();
  fq.set_avail_idx(17);  // queue size is 16
  EXPECT_EQ(vq.pop().error(), QueueError::kBadAvailIdx);
  EXPECT_TRUE(vq.broken());
  EXPECT_EQ(vq.pop().error(), QueueError::kBroken);
  EXPECT_FALSE(vq.needs_notification());
}

TEST_F(QueueFixture, CyclicChainIsDroppedAndReturned) {
  activate();
  const std::uint64_t buf = ram.alloc(16);
  fq.set_desc(0, buf, 16, kDescFlagNext, 1);
  fq.set_desc(1, buf, 16, kDescFlagNext, 0);  // loops back to 0
  fq.publish(0);
  EXPECT_TRUE(pop_empty());
  EXPECT_EQ(vq.stats().chains_dropped, 1u);
  auto used = fq.pop_used();
  ASSERT_TRUE(used);
  EXPECT_EQ(used->id, 0u);
  EXPECT_EQ(used->len, 0u);
  EXPECT_FALSE(vq.broken());
  // The queue keeps working after a dropped chain.
  fq.set_desc(2, buf, 16, 0, 0);
  fq.publish(2);
  EXPECT_EQ(pop_one().head(), 2);
}

TEST_F(QueueFixture, MalformedChainsAreDropped) {
  activate();
  const std::uint64_t buf = ram.alloc(16);
  // Buffer outside guest memory.
  fq.set_desc(0, ram.end() - 8, 16, 0, 0);
  fq.publish(0);
  // len overflowing the address space.
  fq.set_desc(1, ~0ull - 4, 0xffffffff, 0, 0);
  fq.publish(1);
  // next index out of range.
  fq.set_desc(2, buf, 16, kDescFlagNext, 200);
  fq.publish(2);
  // Readable after writable.
  fq.set_desc(3, buf, 8, kDescFlagWrite | kDescFlagNext, 4);
  fq.set_desc(4, buf, 8, 0, 0);
  fq.publish(3);
  // Head index out of range.
  fq.publish(99);
  // Indirect without the feature negotiated.
  fq.set_desc(5, buf, 16, kDescFlagIndirect, 0);
  fq.publish(5);
  EXPECT_TRUE(pop_empty());
  EXPECT_EQ(vq.stats().chains_dropped, 6u);
  EXPECT_EQ(fq.used_idx(), 6u);
  EXPECT_FALSE(vq.broken());
}

TEST_F(QueueFixture, ChainLongerThanQueueIsDropped) {
  activate();
  const std::uint64_t buf = ram.alloc(16);
  // 16 descriptors chained into a line that never ends: the 16th points back.
  for (std::uint16_t i = 0; i < 16; ++i) {
    fq.set_desc(i, buf, 1, kDescFlagNext, static_cast<std::uint16_t>((i + 1) % 16));
  }
  fq.publish(0);
  EXPECT_TRUE(pop_empty());
  EXPECT_EQ(vq.stats().chains_dropped, 1u);
  // Exactly `size` descriptors is fine.
  fq.set_desc(15, buf, 1, 0, 0);
  fq.publish(0);
  EXPECT_EQ(pop_one().segments().size(), 16u);
}

TEST_F(QueueFixture, IndirectTablesWhenNegotiated) {
  activate(kFeatureIndirectDesc);
  const std::uint64_t table = ram.alloc(48, 16);
  const std::uint64_t a = ram.alloc(8), b = ram.alloc(8);
  auto put_desc = [&](int i, std::uint64_t addr, std::uint32_t len, std::uint16_t flags,
                      std::uint16_t next) {
    ram.put<std::uint64_t>(table + 16 * i, addr);
    ram.put<std::uint32_t>(table + 16 * i + 8, len);
    ram.put<std::uint16_t>(table + 16 * i + 12, flags);
    ram.put<std::uint16_t>(table + 16 * i + 14, next);
  };
  put_desc(0, a, 8, kDescFlagNext, 1);
  put_desc(1, b, 8, kDescFlagWrite, 0);
  fq.set_desc(0, table, 32, kDescFlagIndirect, 0);
  fq.publish(0);
  DescriptorChain c = pop_one();
  ASSERT_EQ(c.segments().size(), 2u);
  EXPECT_EQ(c.readable_bytes(), 8u);
  EXPECT_EQ(c.writable_bytes(), 8u);

  // A loop inside the table, a nested indirect, and a bad table length.
  put_desc(1, b, 8, kDescFlagNext, 0);
  fq.set_desc(1, table, 32, kDescFlagIndirect, 0);
  fq.publish(1);
  put_desc(2, table, 16, kDescFlagIndirect, 0);
  fq.set_desc(2, table + 32, 16, kDescFlagIndirect, 0);
  fq.publish(2);
  fq.set_desc(3, table, 20, kDescFlagIndirect, 0);
  fq.publish(3);
  EXPECT_TRUE(pop_empty());
  EXPECT_EQ(vq.stats().chains_dropped, 3u);
}

TEST_F(QueueFixture, NotificationWithoutEventIdxHonoursNoInterruptFlag) {
  activate();
  const std::uint64_t buf = ram.alloc(8);
  EXPECT_FALSE(vq.needs_notification());  // nothing used yet
  fq.add_chain({{buf, 8, true}});
  ASSERT_TRUE(vq.add_used(pop_one().head(), 0));
  EXPECT_TRUE(vq.needs_notification());
  EXPECT_FALSE(vq.needs_notification());  // already signalled
  fq.set_avail_flags(kAvailFlagNoInterrupt);
  fq.add_chain({{buf, 8, true}});
  ASSERT_TRUE(vq.add_used(pop_one().head(), 0));
  EXPECT_FALSE(vq.needs_notification());
}

TEST_F(QueueFixture, EventIdxSuppressesNotifications) {
  activate(kFeatureEventIdx);
  const std::uint64_t buf = ram.alloc(8);
  for (int i = 0; i < 4; ++i) fq.add_chain({{buf, 8, true}});
  // Driver wants an interrupt only once used idx passes 2 (i.e. reaches 3).
  fq.set_used_event(2);
  ASSERT_TRUE(vq.add_used(pop_one().head(), 0));
  EXPECT_FALSE(vq.needs_notification());  // used idx 1
  ASSERT_TRUE(vq.add_used(pop_one().head(), 0));
  EXPECT_FALSE(vq.needs_notification());  // used idx 2
  ASSERT_TRUE(vq.add_used(pop_one().head(), 0));
  EXPECT_TRUE(vq.needs_notification());  // used idx 3 crossed used_event
  ASSERT_TRUE(vq.add_used(pop_one().head(), 0));
  EXPECT_FALSE(vq.needs_notification());  // event already passed
  // The device publishes avail_event so the driver knows when to kick.
  EXPECT_TRUE(pop_empty());
  EXPECT_EQ(fq.avail_event(), 4u);
}

TEST_F(QueueFixture, AddUsedRejectsBadId) {
  activate();
  EXPECT_EQ(vq.add_used(16, 0).error(), QueueError::kBadUsedId);
}

TEST_F(QueueFixture, UndoPopReturnsChain) {
  activate();
  const std::uint64_t buf = ram.alloc(8);
  fq.add_chain({{buf, 8, true}});
  const std::uint16_t head = pop_one().head();
  vq.undo_pop();
  EXPECT_EQ(pop_one().head(), head);
}

TEST_F(QueueFixture, PopIntoReusesTheChainAndSkipsMalformedOnes) {
  activate();
  const std::uint64_t a = ram.alloc(64), b = ram.alloc(32);
  fq.add_chain({{a, 64, false}, {b, 32, true}});
  fq.add_chain({{ram.end() - 8, 64, false}});  // outside guest RAM: dropped
  fq.add_chain({{b, 16, true}});
  DescriptorChain chain;
  auto r = vq.pop_into(chain);
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(chain.segments().size(), 2u);
  EXPECT_EQ(chain.readable_bytes(), 64u);
  EXPECT_EQ(chain.writable_bytes(), 32u);
  r = vq.pop_into(chain);
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(chain.head(), 3);  // the malformed chain (head 2) went back by itself
  ASSERT_EQ(chain.segments().size(), 1u);
  EXPECT_EQ(chain.readable_bytes(), 0u);
  EXPECT_EQ(chain.writable_bytes(), 16u);
  EXPECT_EQ(vq.stats().chains_dropped, 1u);
  r = vq.pop_into(chain);
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_TRUE(chain.segments().empty());
}

TEST_F(QueueFixture, RestoreClampsAndRevalidates) {
  activate();
  QueueState state = vq.save();
  Virtqueue small(8);
  EXPECT_EQ(small.restore(ram.memory(), state).error(), QueueError::kBadSize);
  state.config.avail_addr = ram.end();
  Virtqueue other(256);
  EXPECT_EQ(other.restore(ram.memory(), state).error(), QueueError::kBadRing);
}

}  // namespace
}  // namespace voidbox::virtio
