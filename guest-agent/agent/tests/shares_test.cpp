// voidbox.mount<N>= words: which shares the agent mounts, and what it refuses.
#include "shares.hpp"

#include <gtest/gtest.h>

namespace voidbox::agent {
namespace {

TEST(SharesTest, ParsesEveryMountWordInIndexOrder) {
  auto list = shares_from_cmdline(
      "console=ttyS0 voidbox.mount1=voidbox1,/mnt/out,rw voidbox.mount0=voidbox0,/mnt/repo,ro");
  ASSERT_TRUE(list.errors.empty());
  ASSERT_EQ(list.shares.size(), 2u);
  EXPECT_EQ(list.shares[0].tag, "voidbox0");
  EXPECT_EQ(list.shares[0].path, "/mnt/repo");
  EXPECT_TRUE(list.shares[0].readonly);
  EXPECT_EQ(list.shares[1].path, "/mnt/out");
  EXPECT_FALSE(list.shares[1].readonly);
}

TEST(SharesTest, MalformedWordsAreReportedNotMounted) {
  auto list = shares_from_cmdline(
      "voidbox.mount0=voidbox0,relative,ro voidbox.mount1=voidbox1,/a/../etc,rw "
      "voidbox.mount2=voidbox2,/ok,maybe voidbox.mount3=bad tag voidbox.mount4=voidbox4,/,ro");
  EXPECT_TRUE(list.shares.empty());
  EXPECT_EQ(list.errors.size(), 5u);
}

TEST(SharesTest, NoWordsNoShares) {
  auto list = shares_from_cmdline("voidbox.secret=00 quiet");
  EXPECT_TRUE(list.shares.empty());
  EXPECT_TRUE(list.errors.empty());
}

}  // namespace
}  // namespace voidbox::agent
