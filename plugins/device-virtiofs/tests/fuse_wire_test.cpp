// The FUSE request parser against requests that lie about their lengths.
#include "fuse_wire.hpp"

#include <gtest/gtest.h>

#include "fuse_test_client.hpp"

namespace voidbox::virtiofs::testing {
namespace {

TEST(FuseWireTest, ParsesALookupName) {
  auto m = fuse_request(FUSE_LOOKUP, 1, nullptr, 0, {"hello.txt"});
  auto r = parse_request(m);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header.opcode, FUSE_LOOKUP);
  EXPECT_EQ(r->name, "hello.txt");
}

TEST(FuseWireTest, RefusesShortAndLyingHeaders) {
  auto m = fuse_request(FUSE_GETATTR, 1, nullptr, 0);
  EXPECT_EQ(parse_request(std::span(m).first(39)).error(), ParseError::kShort);
  fuse_in_header h{};
  std::memcpy(&h, m.data(), sizeof h);
  h.len = static_cast<std::uint32_t>(m.size() + 1);  // more than was sent
  std::memcpy(m.data(), &h, sizeof h);
  EXPECT_EQ(parse_request(m).error(), ParseError::kBadLength);
  h.len = 8;
  std::memcpy(m.data(), &h, sizeof h);
  EXPECT_EQ(parse_request(m).error(), ParseError::kBadLength);
}

TEST(FuseWireTest, RefusesABodyShorterThanItsStruct) {
  // GETATTR without its fuse_getattr_in.
  auto m = fuse_request(FUSE_GETATTR, 1, nullptr, 0);
  EXPECT_EQ(parse_request(m).error(), ParseError::kBadBody);
}

TEST(FuseWireTest, RefusesUnterminatedAndOverlongNames) {
  auto m = fuse_request(FUSE_LOOKUP, 1, nullptr, 0, {}, "no-terminator");
  EXPECT_EQ(parse_request(m).error(), ParseError::kBadBody);
  const std::string long_name(256, 'a');
  auto l = fuse_request(FUSE_LOOKUP, 1, nullptr, 0, {long_name});
  EXPECT_EQ(parse_request(l).error(), ParseError::kBadBody);
  // A symlink target may be longer than a name.
  const std::string target(1000, 'b');
  auto s = fuse_request(FUSE_SYMLINK, 1, nullptr, 0, {"link", target});
  auto r = parse_request(s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name2.size(), 1000u);
}

TEST(FuseWireTest, WriteSizeMustLieInsideTheRequest) {
  fuse_write_in w{};
  w.size = 10;
  auto m = fuse_request(FUSE_WRITE, 2, &w, sizeof w, {}, "0123456789");
  auto r = parse_request(m);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->data.size(), 10u);
  w.size = 11;
  auto lie = fuse_request(FUSE_WRITE, 2, &w, sizeof w, {}, "0123456789");
  EXPECT_EQ(parse_request(lie).error(), ParseError::kBadBody);
}

TEST(FuseWireTest, BatchForgetCountMustLieInsideTheRequest) {
  fuse_batch_forget_in b{};
  b.count = 1000000;
  fuse_forget_one one{5, 1};
  auto m = fuse_request(FUSE_BATCH_FORGET, 0, &b, sizeof b, {},
                        std::string_view(reinterpret_cast<const char*>(&one), sizeof one));
  EXPECT_EQ(parse_request(m).error(), ParseError::kBadBody);
}

TEST(FuseWireTest, AcceptsTheShortInitOfOlderGuests) {
  std::uint32_t old_init[4] = {7, 31, 65536, 0};
  auto m = fuse_request(FUSE_INIT, 0, old_init, sizeof old_init);
  auto r = parse_request(m);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body<fuse_init_in>().minor, 31u);
  EXPECT_EQ(r->body<fuse_init_in>().flags2, 0u);
}

TEST(FuseWireTest, ReplyBuilderStopsAtItsLimit) {
  std::vector<std::byte> out;
  ReplyBuilder b(out, 20, 9);
  b.put(std::uint32_t{1});
  EXPECT_TRUE(b.ok());
  b.put(std::uint32_t{2});
  EXPECT_FALSE(b.ok());
  b.finish(ERANGE);
  ASSERT_EQ(out.size(), sizeof(fuse_out_header));
  Reply r{out};
  EXPECT_EQ(r.error(), ERANGE);
  EXPECT_EQ(r.header().unique, 9u);
}

}  // namespace
}  // namespace voidbox::virtiofs::testing
