// The protobuf wire format, as much of it as OTLP needs: varints, fixed
// 32/64-bit fields and length-delimited fields. A nested message is written
// into its own ProtoWriter and appended as bytes, so no length has to be
// patched in afterwards.
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

namespace voidbox::otlp {

class ProtoWriter {
 public:
  void varint_field(std::uint32_t field, std::uint64_t value) {
    tag(field, 0);
    varint(value);
  }
  // Proto3 leaves zero scalars out; callers that must send a zero use
  // varint_field directly.
  void varint_if_set(std::uint32_t field, std::uint64_t value) {
    if (value != 0) varint_field(field, value);
  }
  void bool_field(std::uint32_t field, bool value) { varint_field(field, value ? 1 : 0); }
  void int64_field(std::uint32_t field, std::int64_t value) {
    varint_field(field, static_cast<std::uint64_t>(value));
  }
  void fixed64_field(std::uint32_t field, std::uint64_t value) {
    tag(field, 1);
    for (int i = 0; i < 8; ++i) out_ += static_cast<char>((value >> (8 * i)) & 0xff);
  }
  void double_field(std::uint32_t field, double value) {
    fixed64_field(field, std::bit_cast<std::uint64_t>(value));
  }
  void fixed32_field(std::uint32_t field, std::uint32_t value) {
    tag(field, 5);
    for (int i = 0; i < 4; ++i) out_ += static_cast<char>((value >> (8 * i)) & 0xff);
  }
  void bytes_field(std::uint32_t field, std::string_view bytes) {
    tag(field, 2);
    varint(bytes.size());
    out_.append(bytes);
  }
  void string_if_set(std::uint32_t field, std::string_view text) {
    if (!text.empty()) bytes_field(field, text);
  }
  void message_field(std::uint32_t field, const ProtoWriter& nested) {
    bytes_field(field, nested.out_);
  }

  const std::string& bytes() const noexcept { return out_; }
  std::string take() && { return std::move(out_); }

 private:
  void tag(std::uint32_t field, std::uint32_t wire_type) {
    varint((static_cast<std::uint64_t>(field) << 3) | wire_type);
  }
  void varint(std::uint64_t value) {
    while (value >= 0x80) {
      out_ += static_cast<char>((value & 0x7f) | 0x80);
      value >>= 7;
    }
    out_ += static_cast<char>(value);
  }

  std::string out_;
};

}  // namespace voidbox::otlp
