// The protocol fuzz target's body, shared with the corpus-replay unit test so
// the normal build exercises every corpus input.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "voidbox/protocol/frame.hpp"
#include "voidbox/protocol/handshake.hpp"
#include "voidbox/protocol/messages.hpp"

namespace voidbox::protocol::fuzz {

inline void check(bool ok) {
  if (!ok) std::abort();
}

inline void decode_payload(const Frame& f) {
  switch (f.type) {
    case MessageType::Hello:
      if (auto h = decode<Hello>(f)) {
        (void)check_hello(*h, parse_secret_hex(std::string(64, 'a')));
        check(decode<Hello>(encode(*h)).has_value());
      }
      break;
    case MessageType::HelloAck:
      (void)decode<HelloAck>(f);
      break;
    case MessageType::Error:
      (void)decode<ErrorInfo>(f);
      break;
    case MessageType::ExecStart:
      if (auto m = decode<ExecStart>(f)) {
        auto again = decode<ExecStart>(encode(*m));
        check(again && again->program == m->program && again->args == m->args &&
              again->env == m->env);
      }
      break;
    case MessageType::ExecExit:
      (void)decode<ExecExit>(f);
      break;
    case MessageType::ExecKill:
      (void)decode<ExecKill>(f);
      break;
    case MessageType::FileWrite:
      (void)decode<FileWrite>(f);
      break;
    case MessageType::FileRead:
      (void)decode<FileRead>(f);
      break;
    case MessageType::Stat:
      (void)decode<StatRequest>(f);
      break;
    case MessageType::StatResult:
      (void)decode<StatResult>(f);
      break;
    case MessageType::Mkdir:
      (void)decode<Mkdir>(f);
      break;
    case MessageType::SetAllowlist:
      (void)decode<SetAllowlist>(f);
      break;
    case MessageType::SetLimits:
      (void)decode<Limits>(f);
      break;
    case MessageType::TelemetrySubscribe:
      (void)decode<TelemetrySubscribe>(f);
      break;
    case MessageType::TelemetrySample:
      (void)decode<TelemetrySample>(f);
      break;
    case MessageType::PtyOpen:
      (void)decode<PtyOpen>(f);
      break;
    case MessageType::PtyResize:
      (void)decode<PtyResize>(f);
      break;
    default:
      break;
  }
}

// Input: byte 0 picks the feed chunk size, the rest is the stream.
inline void run_one(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  const std::size_t chunk = 1 + data[0] % 64;
  std::span<const std::uint8_t> rest(data + 1, size - 1);
  FrameDecoder dec;
  while (!rest.empty()) {
    const std::size_t n = std::min(chunk, rest.size());
    if (!dec.feed(rest.first(n))) {
      check(dec.failed());
      break;
    }
    rest = rest.subspan(n);
    while (dec.has_frame()) {
      Frame f = dec.pop();
      check(f.payload.size() <= max_payload_size(f.type));
      // Re-encoding a decoded frame and decoding it again gives the same frame.
      auto bytes = encode_frame(f.type, f.flags, f.request_id, f.payload);
      FrameDecoder again;
      check(again.feed(bytes).has_value() && again.ready_count() == 1);
      Frame g = again.pop();
      check(g.type == f.type && g.flags == f.flags && g.request_id == f.request_id &&
            g.payload == f.payload);
      decode_payload(f);
    }
  }
}

}  // namespace voidbox::protocol::fuzz
