#include "filter/net_types.hpp"

#include <algorithm>
#include <charconv>

namespace voidbox::net {
namespace {

std::optional<unsigned> decimal(std::string_view text, std::size_t max_digits) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  if (text.size() > 1 && text.front() == '0') return std::nullopt;
  unsigned value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

}  // namespace

std::optional<Ipv4> parse_ipv4(std::string_view text) {
  Ipv4 address = 0;
  for (int part = 0; part < 4; ++part) {
    const std::size_t dot = text.find('.');
    if ((dot == std::string_view::npos) != (part == 3)) return std::nullopt;
    auto value = decimal(text.substr(0, dot), 3);
    if (!value || *value > 255) return std::nullopt;
    address = (address << 8) | *value;
    if (dot != std::string_view::npos) text.remove_prefix(dot + 1);
  }
  return address;
}

std::optional<Cidr> parse_cidr(std::string_view text) {
  const std::size_t slash = text.find('/');
  auto address = parse_ipv4(text.substr(0, slash));
  if (!address) return std::nullopt;
  Cidr out{*address, 32};
  if (slash != std::string_view::npos) {
    auto prefix = decimal(text.substr(slash + 1), 2);
    if (!prefix || *prefix > 32) return std::nullopt;
    out.prefix = static_cast<std::uint8_t>(*prefix);
  }
  if ((out.network & ~out.mask()) != 0) return std::nullopt;
  return out;
}

std::string to_string(Ipv4 address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
         std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

}  // namespace voidbox::net
