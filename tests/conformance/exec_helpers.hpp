// Small helpers for running commands through a control channel in tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/control_channel.hpp"

namespace voidbox::conformance {

struct Captured {
  std::string out;
  std::string err;
  control::ExecResult result;
};

inline control::ExecOutput capture_into(Captured& c) {
  return {[&c](std::span<const std::uint8_t> b) {
            c.out.append(reinterpret_cast<const char*>(b.data()), b.size());
          },
          [&c](std::span<const std::uint8_t> b) {
            c.err.append(reinterpret_cast<const char*>(b.data()), b.size());
          }};
}

inline std::expected<Captured, control::ChannelError> run(
    control::ControlChannel& ch, std::string program, std::vector<std::string> args = {},
    std::optional<std::string> stdin_data = {}, control::ExecRequest base = {}) {
  base.program = std::move(program);
  base.args = std::move(args);
  Captured c;
  auto r = ch.exec(base, capture_into(c), std::move(stdin_data));
  if (!r) return std::unexpected(r.error());
  c.result = *r;
  return c;
}

inline std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace voidbox::conformance
