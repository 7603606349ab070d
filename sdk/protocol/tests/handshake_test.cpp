#include "voidbox/protocol/handshake.hpp"

#include <gtest/gtest.h>

namespace vp = voidbox::protocol;

namespace {

const std::string kHex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";

TEST(Handshake, SecretParsing) {
  auto s = vp::parse_secret_hex(kHex);
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)[0], 0x00);
  EXPECT_EQ((*s)[15], 0xff);
  EXPECT_EQ((*s)[31], 0xff);
  EXPECT_EQ(vp::secret_to_hex(*s),
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  EXPECT_FALSE(vp::parse_secret_hex(kHex.substr(1)));
  EXPECT_FALSE(vp::parse_secret_hex(kHex.substr(0, 63) + "g"));
  EXPECT_FALSE(vp::parse_secret_hex(""));
}

TEST(Handshake, CmdlineValue) {
  const std::string cmd =
      "console=ttyS0 voidbox.secret=" + kHex + " voidbox.clock=1700000000 quiet";
  EXPECT_EQ(vp::cmdline_value(cmd, "voidbox.secret"), kHex);
  EXPECT_EQ(vp::cmdline_value(cmd, "voidbox.clock"), "1700000000");
  EXPECT_FALSE(vp::cmdline_value(cmd, "voidbox.sec"));
  EXPECT_FALSE(vp::cmdline_value(cmd, "quiet"));
  EXPECT_EQ(vp::cmdline_value("a=1\na=2\n", "a"), "2");
}

TEST(Handshake, AcceptsMatchingSecretAndPicksHighestCommonVersion) {
  vp::Hello h;
  h.secret_hex = kHex;
  h.min_version = 1;
  h.max_version = 7;
  auto r = vp::check_hello(h, vp::parse_secret_hex(kHex));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, vp::kMaxVersion);
}

TEST(Handshake, SecretMismatchIsUnauthorized) {
  vp::Hello h;
  h.secret_hex = kHex;
  h.secret_hex[10] = h.secret_hex[10] == '0' ? '1' : '0';
  auto r = vp::check_hello(h, vp::parse_secret_hex(kHex));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, vp::ErrorCode::Unauthorized);
  h.secret_hex = "short";
  EXPECT_FALSE(vp::check_hello(h, vp::parse_secret_hex(kHex)));
  h.secret_hex = kHex;
  auto none = vp::check_hello(h, std::nullopt);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, vp::ErrorCode::Unauthorized);
}

TEST(Handshake, UnsupportedVersionHasClearMessage) {
  vp::Hello h;
  h.secret_hex = kHex;
  h.min_version = vp::kMaxVersion + 1;
  h.max_version = vp::kMaxVersion + 2;
  auto r = vp::check_hello(h, vp::parse_secret_hex(kHex));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, vp::ErrorCode::UnsupportedVersion);
  EXPECT_EQ(r.error().message, "unsupported protocol version 2..3; this agent speaks 1");
}

TEST(Handshake, HelloDecodeValidatesMagicAndRange) {
  EXPECT_FALSE(vp::decode<vp::Hello>(R"({"magic":"nope","min_version":1,"max_version":1})"));
  EXPECT_FALSE(vp::decode<vp::Hello>(R"({"magic":"voidbox","min_version":3,"max_version":1})"));
  EXPECT_FALSE(vp::decode<vp::Hello>(R"({"magic":"voidbox"})"));
  vp::Hello h;
  h.secret_hex = kHex;
  h.features = {"exec", "pty"};
  auto back = vp::decode<vp::Hello>(vp::encode(h));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->secret_hex, kHex);
  EXPECT_EQ(back->features, h.features);
}

}  // namespace
