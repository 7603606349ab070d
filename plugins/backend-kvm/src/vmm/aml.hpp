// A tiny AML (ACPI Machine Language) encoder: just the opcodes the DSDT needs.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace voidbox::kvm::aml {

using Bytes = std::vector<std::uint8_t>;

// PkgLength: the length of the package including the PkgLength bytes.
inline Bytes with_pkg_length(std::uint8_t op_prefix_len, const std::uint8_t* ops,
                             const Bytes& body) {
  Bytes out(ops, ops + op_prefix_len);
  const std::size_t n = body.size();
  if (n + 1 < 0x40) {
    out.push_back(static_cast<std::uint8_t>(n + 1));
  } else {
    std::size_t extra = (n + 2 < 0x1000) ? 1 : (n + 3 < 0x100000) ? 2 : 3;
    const std::size_t total = n + 1 + extra;
    out.push_back(static_cast<std::uint8_t>((extra << 6) | (total & 0x0f)));
    for (std::size_t i = 0; i < extra; ++i)
      out.push_back(static_cast<std::uint8_t>(total >> (4 + 8 * i)));
  }
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

inline void append(Bytes& to, const Bytes& b) {
  to.insert(to.end(), b.begin(), b.end());
}

inline Bytes name_seg(std::string_view seg) {  // exactly four characters
  return Bytes(seg.begin(), seg.end());
}

inline Bytes integer(std::uint64_t v) {
  if (v == 0) return {0x00};
  if (v == 1) return {0x01};
  Bytes out;
  std::size_t width = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffff ? 4 : 8;
  out.push_back(width == 1 ? 0x0a : width == 2 ? 0x0b : width == 4 ? 0x0c : 0x0e);
  for (std::size_t i = 0; i < width; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  return out;
}

inline Bytes string(std::string_view s) {
  Bytes out{0x0d};
  out.insert(out.end(), s.begin(), s.end());
  out.push_back(0);
  return out;
}

inline Bytes name(std::string_view seg, const Bytes& value) {
  Bytes out{0x08};
  append(out, name_seg(seg));
  append(out, value);
  return out;
}

inline Bytes buffer(const Bytes& data) {
  Bytes body = integer(data.size());
  append(body, data);
  const std::uint8_t op = 0x11;
  return with_pkg_length(1, &op, body);
}

inline Bytes package(const std::vector<Bytes>& elements) {
  Bytes body{static_cast<std::uint8_t>(elements.size())};
  for (const auto& e : elements) append(body, e);
  const std::uint8_t op = 0x12;
  return with_pkg_length(1, &op, body);
}

inline Bytes device(std::string_view seg, const Bytes& terms) {
  Bytes body = name_seg(seg);
  append(body, terms);
  const std::uint8_t ops[2] = {0x5b, 0x82};
  return with_pkg_length(2, ops, body);
}

// Scope(\<seg>) { terms }
inline Bytes root_scope(std::string_view seg, const Bytes& terms) {
  Bytes body{'\\'};
  append(body, name_seg(seg));
  append(body, terms);
  const std::uint8_t op = 0x10;
  return with_pkg_length(1, &op, body);
}

// EISAID("PNP0501") as the 32-bit compressed id.
inline std::uint32_t eisa_id(std::string_view id) {
  const auto c = [&](std::size_t i) { return static_cast<std::uint32_t>(id[i] - 0x40) & 0x1f; };
  const auto h = [&](std::size_t i) {
    const char ch = id[i];
    return static_cast<std::uint32_t>(ch <= '9' ? ch - '0' : ch - 'A' + 10);
  };
  const std::uint32_t v =
      (c(0) << 26) | (c(1) << 21) | (c(2) << 16) | (h(3) << 12) | (h(4) << 8) | (h(5) << 4) | h(6);
  // Stored byte-swapped (big-endian) as a little-endian DWORD.
  return ((v >> 24) & 0xff) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

// Resource descriptors for _CRS.
inline void memory32_fixed(Bytes& rt, std::uint32_t base, std::uint32_t len) {
  rt.insert(rt.end(), {0x86, 0x09, 0x00, 0x01});
  for (int i = 0; i < 4; ++i) rt.push_back(static_cast<std::uint8_t>(base >> (8 * i)));
  for (int i = 0; i < 4; ++i) rt.push_back(static_cast<std::uint8_t>(len >> (8 * i)));
}

inline void io_port(Bytes& rt, std::uint16_t port, std::uint8_t len) {
  rt.insert(rt.end(),
            {0x47, 0x01, static_cast<std::uint8_t>(port), static_cast<std::uint8_t>(port >> 8),
             static_cast<std::uint8_t>(port), static_cast<std::uint8_t>(port >> 8), 0x01, len});
}

// Extended Interrupt: ResourceConsumer, active high, exclusive.
inline void interrupt(Bytes& rt, std::uint32_t gsi, bool edge) {
  const std::uint8_t flags = static_cast<std::uint8_t>(0x01 | (edge ? 0x02 : 0x00));
  rt.insert(rt.end(), {0x89, 0x06, 0x00, flags, 0x01});
  for (int i = 0; i < 4; ++i) rt.push_back(static_cast<std::uint8_t>(gsi >> (8 * i)));
}

inline void end_tag(Bytes& rt) {
  rt.insert(rt.end(), {0x79, 0x00});
}

}  // namespace voidbox::kvm::aml
