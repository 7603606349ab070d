#include "net_config.hpp"

#include <gtest/gtest.h>

namespace voidbox::net {
namespace {

std::string error_of(std::string_view json) {
  auto c = parse_net_config(json);
  return c ? std::string("(accepted)") : c.error();
}

TEST(NetConfigTest, DefaultsWhenEmpty) {
  for (std::string_view json : {"", "{}", "  \n"}) {
    auto c = parse_net_config(json);
    ASSERT_TRUE(c) << c.error();
    EXPECT_EQ(c->mac, (std::array<std::uint8_t, 6>{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}));
    EXPECT_EQ(c->mtu, 1500);
    EXPECT_EQ(c->rx_backlog_frames, 256u);
  }
}

TEST(NetConfigTest, ReadsEveryKey) {
  auto c = parse_net_config(R"({"mac":"02:AB:cd:00:00:01","mtu":9000,"rx_backlog_frames":0})");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->mac, (std::array<std::uint8_t, 6>{0x02, 0xab, 0xcd, 0x00, 0x00, 0x01}));
  EXPECT_EQ(c->mtu, 9000);
  EXPECT_EQ(c->rx_backlog_frames, 0u);
  EXPECT_TRUE(parse_net_config(R"({"mtu":68})"));
  EXPECT_TRUE(parse_net_config(R"({"mtu":65535})"));
}

TEST(NetConfigTest, RejectsBadMacs) {
  EXPECT_NE(error_of(R"({"mac":"52:54:00:12:34"})").find("is not a MAC"), std::string::npos);
  EXPECT_NE(error_of(R"({"mac":"52-54-00-12-34-56"})").find("is not a MAC"), std::string::npos);
  EXPECT_NE(error_of(R"({"mac":"52:54:00:12:34:5g"})").find("is not a MAC"), std::string::npos);
  EXPECT_NE(error_of(R"({"mac":"01:00:5e:00:00:01"})").find("multicast"), std::string::npos);
  EXPECT_NE(error_of(R"({"mac":"ff:ff:ff:ff:ff:ff"})").find("multicast"), std::string::npos);
  EXPECT_NE(error_of(R"({"mac":"00:00:00:00:00:00"})").find("all zeros"), std::string::npos);
  EXPECT_NE(error_of(R"({"mac":42})").find("mac must be a string"), std::string::npos);
}

TEST(NetConfigTest, RejectsOutOfRangeNumbers) {
  EXPECT_NE(error_of(R"({"mtu":67})").find("mtu = 67 is outside [68, 65535]"), std::string::npos);
  EXPECT_NE(error_of(R"({"mtu":65536})").find("outside"), std::string::npos);
  EXPECT_NE(error_of(R"({"mtu":-1})").find("outside"), std::string::npos);
  EXPECT_NE(error_of(R"({"mtu":"1500"})").find("mtu must be an integer"), std::string::npos);
  EXPECT_NE(error_of(R"({"mtu":1500.5})").find("mtu must be an integer"), std::string::npos);
  EXPECT_NE(error_of(R"({"rx_backlog_frames":4097})").find("rx_backlog_frames = 4097"),
            std::string::npos);
}

TEST(NetConfigTest, RejectsUnknownKeysAndNonObjects) {
  EXPECT_NE(error_of(R"({"mtuu":1500})").find("unknown key \"mtuu\""), std::string::npos);
  EXPECT_NE(error_of("[1]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(error_of("{").find("not a JSON object"), std::string::npos);
  EXPECT_EQ(error_of("{\"mtu\":68}"), "(accepted)");
}

}  // namespace
}  // namespace voidbox::net
