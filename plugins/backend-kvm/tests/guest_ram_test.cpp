// Guest RAM layout: the split around the 32-bit hole, and host mappings that
// let KVM use 2 MiB guest mappings.
#include "vmm/guest_ram.hpp"

#include <gtest/gtest.h>

#include <cstdint>

#include "vmm/layout.hpp"

namespace voidbox::kvm {
namespace {

constexpr std::uint64_t kHugePage = 2ull << 20;

std::uintptr_t host_address(const GuestRam& ram, std::uint64_t gpa) {
  auto s = ram.memory().slice(gpa, 1);
  EXPECT_TRUE(s.has_value()) << "gpa " << gpa;
  return s ? reinterpret_cast<std::uintptr_t>(s->data()) : 0;
}

TEST(GuestRam, EachRegionStartsOnA2MiBHostBoundary) {
  // 5 GiB: 3 GiB below the hole, 2 GiB from 4 GiB.
  auto ram = GuestRam::create(5 * 1024);
  ASSERT_TRUE(ram.has_value()) << ram.error().message;
  const auto ranges = ram->ranges();
  ASSERT_EQ(ranges.size(), 2u);
  for (const auto& r : ranges) {
    EXPECT_EQ(host_address(*ram, r.start) % kHugePage, 0u) << "region at gpa " << r.start;
    // The whole region stays mapped after trimming the alignment slack.
    const std::uint8_t marker = 0x5a;
    ASSERT_TRUE(ram->write(r.start + r.size - 1, &marker, 1).has_value());
    ASSERT_TRUE(ram->write(r.start, &marker, 1).has_value());
  }
  EXPECT_EQ(ranges[0].start, 0u);
  EXPECT_EQ(ranges[0].size, layout::kLowRamEnd);
  EXPECT_EQ(ranges[1].start, layout::kHighRamStart);
  EXPECT_EQ(ranges[1].size, 5ull * 1024 * 1024 * 1024 - layout::kLowRamEnd);
  EXPECT_EQ(ram->total_bytes(), 5ull << 30);
}

TEST(GuestRam, RejectsSizesOutsideTheSupportedRange) {
  EXPECT_FALSE(GuestRam::create(0).has_value());
  EXPECT_FALSE(GuestRam::create(63).has_value());
  EXPECT_FALSE(GuestRam::create(64 * 1024 + 1).has_value());
}

}  // namespace
}  // namespace voidbox::kvm
