// Small helpers for running commands in a sandbox in tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "voidbox/sandbox.hpp"

namespace voidbox::conformance {

struct Captured {
  std::string out;
  std::string err;
  ExecResult result;
};

inline ExecOutput capture_into(Captured& c) {
  return {[&c](std::span<const std::uint8_t> b) {
            c.out.append(reinterpret_cast<const char*>(b.data()), b.size());
          },
          [&c](std::span<const std::uint8_t> b) {
            c.err.append(reinterpret_cast<const char*>(b.data()), b.size());
          }};
}

inline std::expected<Captured, Error> run(Sandbox& ch, std::string program,
                                          std::vector<std::string> args = {},
                                          std::optional<std::string> stdin_data = {},
                                          ExecRequest base = {}) {
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
