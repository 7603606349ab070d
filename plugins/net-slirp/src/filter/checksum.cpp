#include "filter/checksum.hpp"

namespace voidbox::net {

std::uint32_t checksum_add(std::span<const std::uint8_t> bytes, std::uint32_t partial) {
  std::uint64_t sum = partial;
  std::size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) sum += (std::uint32_t{bytes[i]} << 8) | bytes[i + 1];
  if (i < bytes.size()) sum += std::uint32_t{bytes[i]} << 8;
  while (sum >> 32) sum = (sum & 0xffffffffu) + (sum >> 32);
  return static_cast<std::uint32_t>(sum);
}

std::uint16_t checksum_finish(std::uint32_t partial) {
  while (partial >> 16) partial = (partial & 0xffff) + (partial >> 16);
  return static_cast<std::uint16_t>(~partial & 0xffff);
}

std::uint32_t pseudo_header_sum(Ipv4 source, Ipv4 destination, std::uint8_t protocol,
                                std::uint16_t length) {
  std::uint64_t sum = (source >> 16) + (source & 0xffff) + (destination >> 16) +
                      (destination & 0xffff) + protocol + length;
  while (sum >> 32) sum = (sum & 0xffffffffu) + (sum >> 32);
  return static_cast<std::uint32_t>(sum);
}

}  // namespace voidbox::net
