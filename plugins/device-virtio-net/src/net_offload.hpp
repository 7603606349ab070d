// What the device does for the guest's offloads, on plain byte buffers: the
// virtio_net_hdr_v1 codec, Internet checksums, and TCP/IPv4 segmentation.
// Everything here treats its input as hostile and bounds every offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>

namespace voidbox::net {

// virtio 1.2 §5.1.6: struct virtio_net_hdr_v1, little-endian.
inline constexpr std::size_t kNetHdrSize = 12;
inline constexpr std::uint8_t kHdrFlagNeedsCsum = 1;
inline constexpr std::uint8_t kHdrFlagDataValid = 2;
inline constexpr std::uint8_t kGsoNone = 0;
inline constexpr std::uint8_t kGsoTcpV4 = 1;
inline constexpr std::uint8_t kGsoUdp = 3;
inline constexpr std::uint8_t kGsoTcpV6 = 4;
inline constexpr std::uint8_t kGsoEcn = 0x80;

inline constexpr std::size_t kEthHeader = 14;
inline constexpr std::size_t kVlanTag = 4;

struct NetHdr {
  std::uint8_t flags = 0;
  std::uint8_t gso_type = kGsoNone;
  std::uint16_t hdr_len = 0;
  std::uint16_t gso_size = 0;
  std::uint16_t csum_start = 0;
  std::uint16_t csum_offset = 0;
  std::uint16_t num_buffers = 0;
};

NetHdr decode_hdr(std::span<const std::byte, kNetHdrSize> in);
void encode_hdr(const NetHdr& h, std::span<std::byte, kNetHdrSize> out);

// One's-complement sum of `data` added to `acc`, in host word order (RFC 1071
// §2(B)): chain calls only over regions of even length, except the last.
std::uint64_t csum_add(std::span<const std::byte> data, std::uint64_t acc);
// Folds to 16 bits; the result, stored with memcpy, is in network order.
std::uint16_t csum_fold(std::uint64_t acc);

// Completes a CHECKSUM_PARTIAL frame: sums [csum_start, end) (which includes
// the pseudo-header sum the driver left in the field) and stores the result
// at csum_start + csum_offset. False, frame untouched, when the field lies
// outside the frame.
bool complete_csum(std::span<std::byte> frame, std::uint16_t csum_start, std::uint16_t csum_offset);

enum class GsoError {
  kNotTcpV4,    // not an (optionally VLAN-tagged) IPv4 TCP packet
  kBadHeaders,  // truncated or inconsistent IPv4/TCP headers, or a fragment
  kBadMss,      // gso_size 0, or the MTU leaves no room for payload
};

const char* to_string(GsoError e);

using FrameSink = void (*)(void* ctx, std::span<const std::byte> frame);

// Splits the Ethernet frame `packet` (a TCP/IPv4 super-packet) into frames
// whose IP packets fit `mtu` and whose payload is at most `gso_size`:
// sequence numbers advance, the IP id increments, each frame gets its own IP
// total length and header checksum and a full TCP checksum, FIN and PSH stay
// on the last frame only and CWR on the first only. Each frame is built in
// `scratch` (at least mtu + 18 bytes) and handed to `sink`. Returns the
// number of frames.
std::expected<std::size_t, GsoError> segment_tcpv4(std::span<const std::byte> packet,
                                                   std::uint16_t gso_size, std::uint16_t mtu,
                                                   std::span<std::byte> scratch, FrameSink sink,
                                                   void* ctx);

}  // namespace voidbox::net
