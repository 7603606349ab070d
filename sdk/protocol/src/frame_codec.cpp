#include <algorithm>
#include <cstring>

#include "voidbox/protocol/frame.hpp"

namespace voidbox::protocol {

namespace {

void put_u16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}

void put_u32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::uint16_t get_u16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}

std::uint32_t get_u32(const std::uint8_t* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

std::string_view to_string(MessageType type) {
  switch (type) {
    case MessageType::Hello:
      return "Hello";
    case MessageType::HelloAck:
      return "HelloAck";
    case MessageType::Error:
      return "Error";
    case MessageType::Ping:
      return "Ping";
    case MessageType::Pong:
      return "Pong";
    case MessageType::Shutdown:
      return "Shutdown";
    case MessageType::Ok:
      return "Ok";
    case MessageType::Cancel:
      return "Cancel";
    case MessageType::ExecStart:
      return "ExecStart";
    case MessageType::ExecStarted:
      return "ExecStarted";
    case MessageType::ExecStdin:
      return "ExecStdin";
    case MessageType::ExecOutput:
      return "ExecOutput";
    case MessageType::ExecExit:
      return "ExecExit";
    case MessageType::ExecKill:
      return "ExecKill";
    case MessageType::FileWrite:
      return "FileWrite";
    case MessageType::FileData:
      return "FileData";
    case MessageType::FileRead:
      return "FileRead";
    case MessageType::Stat:
      return "Stat";
    case MessageType::StatResult:
      return "StatResult";
    case MessageType::Mkdir:
      return "Mkdir";
    case MessageType::SetAllowlist:
      return "SetAllowlist";
    case MessageType::SetLimits:
      return "SetLimits";
    case MessageType::TelemetrySubscribe:
      return "TelemetrySubscribe";
    case MessageType::TelemetrySample:
      return "TelemetrySample";
    case MessageType::PtyOpen:
      return "PtyOpen";
    case MessageType::PtyOpened:
      return "PtyOpened";
    case MessageType::PtyData:
      return "PtyData";
    case MessageType::PtyResize:
      return "PtyResize";
    case MessageType::PtyClose:
      return "PtyClose";
    case MessageType::PtyExit:
      return "PtyExit";
  }
  return "unknown";
}

std::array<std::uint8_t, kHeaderSize> encode_header(MessageType type, std::uint16_t flags,
                                                    std::uint32_t request_id,
                                                    std::uint32_t payload_size) {
  std::array<std::uint8_t, kHeaderSize> h{};
  put_u32(h.data(), payload_size);
  put_u16(h.data() + 4, static_cast<std::uint16_t>(type));
  put_u16(h.data() + 6, flags);
  put_u32(h.data() + 8, request_id);
  return h;
}

std::vector<std::uint8_t> encode_frame(MessageType type, std::uint16_t flags,
                                       std::uint32_t request_id,
                                       std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> out(kHeaderSize + payload.size());
  const auto h = encode_header(type, flags, request_id, static_cast<std::uint32_t>(payload.size()));
  std::memcpy(out.data(), h.data(), kHeaderSize);
  if (!payload.empty()) std::memcpy(out.data() + kHeaderSize, payload.data(), payload.size());
  return out;
}

std::vector<std::uint8_t> encode_frame(MessageType type, std::uint16_t flags,
                                       std::uint32_t request_id, std::string_view payload) {
  return encode_frame(type, flags, request_id,
                      std::span<const std::uint8_t>(
                          reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()));
}

std::vector<std::uint8_t> encode_exec_output(std::uint32_t request_id, OutputStream stream,
                                             std::span<const std::uint8_t> chunk) {
  std::vector<std::uint8_t> out(kHeaderSize + 1 + chunk.size());
  const auto h = encode_header(MessageType::ExecOutput, 0, request_id,
                               static_cast<std::uint32_t>(chunk.size() + 1));
  std::memcpy(out.data(), h.data(), kHeaderSize);
  out[kHeaderSize] = static_cast<std::uint8_t>(stream);
  if (!chunk.empty()) std::memcpy(out.data() + kHeaderSize + 1, chunk.data(), chunk.size());
  return out;
}

std::expected<void, DecodeError> FrameDecoder::feed(std::span<const std::uint8_t> bytes) {
  if (failed_) return std::unexpected(DecodeError{error_});
  while (!bytes.empty()) {
    if (!in_payload_) {
      const std::size_t take = std::min(kHeaderSize - header_fill_, bytes.size());
      std::memcpy(header_.data() + header_fill_, bytes.data(), take);
      header_fill_ += take;
      bytes = bytes.subspan(take);
      if (header_fill_ < kHeaderSize) break;

      payload_size_ = get_u32(header_.data());
      current_ = Frame{};
      current_.type = static_cast<MessageType>(get_u16(header_.data() + 4));
      current_.flags = get_u16(header_.data() + 6);
      current_.request_id = get_u32(header_.data() + 8);
      const std::uint32_t limit = std::min(max_payload_size(current_.type), max_payload_);
      if (payload_size_ > limit) {
        failed_ = true;
        header_fill_ = 0;
        error_ = "frame too large: " + std::string(to_string(current_.type)) + " (type " +
                 std::to_string(static_cast<unsigned>(current_.type)) + ") payload of " +
                 std::to_string(payload_size_) + " bytes exceeds the limit of " +
                 std::to_string(limit);
        return std::unexpected(DecodeError{error_});
      }
      header_fill_ = 0;
      in_payload_ = true;
      current_.payload.reserve(payload_size_);
    }
    const std::size_t need = payload_size_ - current_.payload.size();
    const std::size_t take = std::min(need, bytes.size());
    current_.payload.insert(current_.payload.end(), bytes.begin(),
                            bytes.begin() + static_cast<std::ptrdiff_t>(take));
    bytes = bytes.subspan(take);
    if (current_.payload.size() == payload_size_) {
      ready_.push_back(std::move(current_));
      current_ = Frame{};
      in_payload_ = false;
    }
  }
  return {};
}

Frame FrameDecoder::pop() {
  Frame f = std::move(ready_.front());
  ready_.pop_front();
  return f;
}

}  // namespace voidbox::protocol
