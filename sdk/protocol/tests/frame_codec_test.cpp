#include <gtest/gtest.h>

#include "voidbox/protocol/frame.hpp"

namespace vp = voidbox::protocol;

namespace {

std::vector<std::uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

TEST(FrameCodec, HeaderLayoutIsLittleEndian) {
  const auto h = vp::encode_header(vp::MessageType::ExecStart, vp::kFlagEnd, 0x01020304, 0x0a0b);
  const std::array<std::uint8_t, 12> want{0x0b, 0x0a, 0, 0, 0x10, 0, 0x01, 0, 4, 3, 2, 1};
  EXPECT_EQ(h, want);
}

TEST(FrameCodec, RoundTripWholeBuffer) {
  auto f1 = vp::encode_frame(vp::MessageType::Stat, 0, 7, std::string_view(R"({"path":"/x"})"));
  auto f2 = vp::encode_frame(vp::MessageType::FileData, vp::kFlagEnd, 9, std::string_view(""));
  std::vector<std::uint8_t> stream = f1;
  stream.insert(stream.end(), f2.begin(), f2.end());
  vp::FrameDecoder dec;
  ASSERT_TRUE(dec.feed(stream));
  ASSERT_EQ(dec.ready_count(), 2u);
  auto a = dec.pop();
  EXPECT_EQ(a.type, vp::MessageType::Stat);
  EXPECT_EQ(a.request_id, 7u);
  EXPECT_EQ(a.text(), R"({"path":"/x"})");
  EXPECT_FALSE(a.end());
  auto b = dec.pop();
  EXPECT_EQ(b.type, vp::MessageType::FileData);
  EXPECT_TRUE(b.end());
  EXPECT_TRUE(b.payload.empty());
  EXPECT_EQ(dec.pending_bytes(), 0u);
}

TEST(FrameCodec, ByteByByteFeedYieldsSameFrames) {
  std::vector<std::uint8_t> raw(3000);
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(i * 31);
  auto stream = vp::encode_frame(vp::MessageType::ExecStdin, 0, 1, raw);
  auto out = vp::encode_exec_output(2, vp::OutputStream::Stderr, raw);
  stream.insert(stream.end(), out.begin(), out.end());
  vp::FrameDecoder dec;
  for (std::uint8_t b : stream) {
    ASSERT_TRUE(dec.feed(std::span<const std::uint8_t>(&b, 1)));
  }
  ASSERT_EQ(dec.ready_count(), 2u);
  auto a = dec.pop();
  EXPECT_EQ(a.payload, raw);
  auto b = dec.pop();
  EXPECT_EQ(b.type, vp::MessageType::ExecOutput);
  ASSERT_EQ(b.payload.size(), raw.size() + 1);
  EXPECT_EQ(b.payload[0], static_cast<std::uint8_t>(vp::OutputStream::Stderr));
  EXPECT_TRUE(std::equal(raw.begin(), raw.end(), b.payload.begin() + 1));
}

TEST(FrameCodec, PartialFrameStaysPending) {
  auto f = vp::encode_frame(vp::MessageType::Ping, 0, 0, std::string_view("abcd"));
  vp::FrameDecoder dec;
  ASSERT_TRUE(dec.feed(std::span(f).first(f.size() - 1)));
  EXPECT_FALSE(dec.has_frame());
  EXPECT_EQ(dec.pending_bytes(), f.size() - 1);
  ASSERT_TRUE(dec.feed(std::span(f).last(1)));
  EXPECT_TRUE(dec.has_frame());
}

TEST(FrameCodec, OversizeFrameRejectedFromHeaderAlone) {
  // Only the header of a 4 GiB-1 Ping arrives: the decoder must fail without
  // waiting for (or allocating) the payload.
  auto h = vp::encode_header(vp::MessageType::Ping, 0, 1, 0xffffffffu);
  vp::FrameDecoder dec;
  auto r = dec.feed(h);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("exceeds the limit of 64"), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(dec.failed());
  EXPECT_EQ(dec.pending_bytes(), 0u);
  // A failed decoder stays failed.
  EXPECT_FALSE(dec.feed(bytes_of("x")));
}

TEST(FrameCodec, PerTypeLimitsApply) {
  vp::FrameDecoder dec;
  EXPECT_FALSE(dec.feed(vp::encode_header(vp::MessageType::Hello, 0, 0, vp::kMaxHello + 1)));
  vp::FrameDecoder dec2;
  EXPECT_TRUE(dec2.feed(vp::encode_header(vp::MessageType::FileData, 0, 0, vp::kMaxDataChunk)));
  vp::FrameDecoder dec3;
  EXPECT_FALSE(
      dec3.feed(vp::encode_header(vp::MessageType::FileData, 0, 0, vp::kMaxDataChunk + 1)));
  // Unknown types are readable up to the small control limit.
  vp::FrameDecoder dec4;
  auto unknown =
      vp::encode_frame(static_cast<vp::MessageType>(0x7777), 0, 3, std::string_view("{}"));
  ASSERT_TRUE(dec4.feed(unknown));
  EXPECT_EQ(vp::to_string(dec4.pop().type), "unknown");
}

TEST(FrameCodec, DecoderWideCapIsHonoured) {
  vp::FrameDecoder dec(100);
  EXPECT_FALSE(dec.feed(vp::encode_header(vp::MessageType::FileData, 0, 0, 101)));
}

}  // namespace
