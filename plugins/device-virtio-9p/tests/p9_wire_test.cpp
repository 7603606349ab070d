// The 9P codec: every field parsed, every bound enforced before use.
#include "p9_wire.hpp"

#include <gtest/gtest.h>

#include "p9_test_client.hpp"

namespace voidbox::p9 {
namespace {

using testing::Msg;

TEST(P9WireTest, ParsesAWalkWithViewsIntoTheMessage) {
  auto m = Msg(kTwalk, 7).u32(1).u32(2).u16(2).str("dir").str("file").done();
  auto r = parse_request(m);
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(r->type, kTwalk);
  EXPECT_EQ(r->tag, 7);
  const auto& w = std::get<Walk>(r->body);
  EXPECT_EQ(w.fid, 1u);
  EXPECT_EQ(w.newfid, 2u);
  ASSERT_EQ(w.count, 2);
  EXPECT_EQ(w.names[0], "dir");
  EXPECT_EQ(w.names[1], "file");
  EXPECT_GE(reinterpret_cast<const std::byte*>(w.names[1].data()), m.data());
  EXPECT_LE(reinterpret_cast<const std::byte*>(w.names[1].data() + 4), m.data() + m.size());
}

TEST(P9WireTest, ParsesWriteDataAndSetattrFields) {
  auto w = Msg(kTwrite, 1).u32(3).u64(1ull << 40).u32(5).raw("hello").done();
  auto r = parse_request(w);
  ASSERT_TRUE(r);
  const auto& wr = std::get<Write>(r->body);
  EXPECT_EQ(wr.offset, 1ull << 40);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(wr.data.data()), wr.data.size()), "hello");
  auto s = Msg(kTsetattr, 1)
               .u32(3)
               .u32(0x1ff)
               .u32(0644)
               .u32(1)
               .u32(2)
               .u64(9)
               .u64(10)
               .u64(11)
               .u64(12)
               .u64(13)
               .done();
  auto rs = parse_request(s);
  ASSERT_TRUE(rs);
  const auto& sa = std::get<Setattr>(rs->body);
  EXPECT_EQ(sa.mode, 0644u);
  EXPECT_EQ(sa.size, 9u);
  EXPECT_EQ(sa.mtime_nsec, 13u);
}

TEST(P9WireTest, RefusesMessagesWhoseSizeFieldLies) {
  auto m = Msg(kTclunk, 1).u32(5).done();
  m[0] = std::byte{200};  // claims 200 bytes, has 11
  EXPECT_EQ(parse_request(m).error(), ParseError::kShort);
  auto tiny = std::vector<std::byte>(5);
  EXPECT_EQ(parse_request(tiny).error(), ParseError::kShort);
  EXPECT_FALSE(peek_tag(tiny));
}

TEST(P9WireTest, RefusesFieldsPastTheEndAndTrailingBytes) {
  // A string whose length runs past the message.
  auto m = Msg(kTmkdir, 1).u32(0).u16(1000).raw("d").done();
  EXPECT_EQ(parse_request(m).error(), ParseError::kTruncated);
  // Write data longer than the message holds: no allocation, just refused.
  auto w = Msg(kTwrite, 1).u32(3).u64(0).u32(0xffffffffu).raw("x").done();
  EXPECT_EQ(parse_request(w).error(), ParseError::kTruncated);
  auto t = Msg(kTclunk, 1).u32(5).raw("extra").done();
  EXPECT_EQ(parse_request(t).error(), ParseError::kTrailing);
}

TEST(P9WireTest, WalksAreBoundedTo16Names) {
  Msg ok(kTwalk, 1);
  ok.u32(0).u32(1).u16(16);
  for (int i = 0; i < 16; ++i) ok.str("a");
  EXPECT_TRUE(parse_request(ok.done()));
  auto big = Msg(kTwalk, 1).u32(0).u32(1).u16(0xffff).done();
  EXPECT_EQ(parse_request(big).error(), ParseError::kTooManyNames);
}

TEST(P9WireTest, UnknownTypesAndRepliesAreNotRequests) {
  EXPECT_EQ(parse_request(Msg(99, 1).done()).error(), ParseError::kUnknownType);
  EXPECT_EQ(parse_request(Msg(kTversion + 1, 1).u32(0).str("").done()).error(),
            ParseError::kUnknownType);
}

TEST(P9WireTest, ReplyBuilderStopsAtItsLimit) {
  std::vector<std::byte> out;
  ReplyBuilder b(out, 20);
  b.begin(kTread + 1, 9);
  b.u32(4);
  EXPECT_TRUE(b.ok());
  EXPECT_EQ(b.room(), 9u);
  EXPECT_EQ(b.reserve(10), nullptr);
  EXPECT_FALSE(b.ok());
  EXPECT_LE(out.size(), 20u);
  std::vector<std::byte> err;
  build_error(err, 9, 13);
  testing::Reply r(err);
  EXPECT_EQ(r.type(), kRlerror);
  EXPECT_EQ(r.tag(), 9);
  EXPECT_EQ(r.error(), 13u);
}

}  // namespace
}  // namespace voidbox::p9
