#include "net_offload.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "voidbox/virtio/guest_memory.hpp"

namespace voidbox::net {

namespace {

using virtio::GuestMemory;

constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
constexpr std::uint16_t kEtherTypeVlan = 0x8100;
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kTcpFin = 0x01;
constexpr std::uint8_t kTcpPsh = 0x08;
constexpr std::uint8_t kTcpCwr = 0x80;

std::uint16_t be16(const std::byte* p) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) |
                                    std::to_integer<unsigned>(p[1]));
}
std::uint32_t be32(const std::byte* p) {
  return (std::uint32_t{be16(p)} << 16) | be16(p + 2);
}
void put_be16(std::byte* p, std::uint32_t v) {
  p[0] = static_cast<std::byte>(v >> 8);
  p[1] = static_cast<std::byte>(v);
}
void put_be32(std::byte* p, std::uint32_t v) {
  put_be16(p, v >> 16);
  put_be16(p + 2, v);
}
void store_sum(std::byte* p, std::uint16_t sum) {
  std::memcpy(p, &sum, 2);
}

}  // namespace

NetHdr decode_hdr(std::span<const std::byte, kNetHdrSize> in) {
  const std::byte* p = in.data();
  return {std::to_integer<std::uint8_t>(p[0]),        std::to_integer<std::uint8_t>(p[1]),
          GuestMemory::load_le<std::uint16_t>(p + 2), GuestMemory::load_le<std::uint16_t>(p + 4),
          GuestMemory::load_le<std::uint16_t>(p + 6), GuestMemory::load_le<std::uint16_t>(p + 8),
          GuestMemory::load_le<std::uint16_t>(p + 10)};
}

void encode_hdr(const NetHdr& h, std::span<std::byte, kNetHdrSize> out) {
  std::byte* p = out.data();
  p[0] = std::byte{h.flags};
  p[1] = std::byte{h.gso_type};
  GuestMemory::store_le<std::uint16_t>(p + 2, h.hdr_len);
  GuestMemory::store_le<std::uint16_t>(p + 4, h.gso_size);
  GuestMemory::store_le<std::uint16_t>(p + 6, h.csum_start);
  GuestMemory::store_le<std::uint16_t>(p + 8, h.csum_offset);
  GuestMemory::store_le<std::uint16_t>(p + 10, h.num_buffers);
}

std::uint64_t csum_add(std::span<const std::byte> data, std::uint64_t acc) {
  const std::byte* p = data.data();
  std::size_t n = data.size();
  // 32-bit loads: 2^16 == 1 in one's-complement arithmetic, so a native
  // 32-bit word adds as its two 16-bit halves.
  for (; n >= 4; p += 4, n -= 4) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    acc += w;
  }
  if (n >= 2) {
    std::uint16_t w;
    std::memcpy(&w, p, 2);
    acc += w;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    // A trailing byte is the high half of a zero-padded network-order word.
    const unsigned b = std::to_integer<unsigned>(*p);
    acc += std::endian::native == std::endian::little ? b : b << 8;
  }
  return acc;
}

std::uint16_t csum_fold(std::uint64_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<std::uint16_t>(acc);
}

bool complete_csum(std::span<std::byte> frame, std::uint16_t csum_start,
                   std::uint16_t csum_offset) {
  const std::size_t start = csum_start, field = std::size_t{csum_start} + csum_offset;
  if (start > frame.size() || field > frame.size() || frame.size() - field < 2) return false;
  std::uint16_t sum = static_cast<std::uint16_t>(~csum_fold(csum_add(frame.subspan(start), 0)));
  // A computed 0 goes out as 0xffff: for UDP, 0 would mean "no checksum".
  if (sum == 0) sum = 0xffff;
  store_sum(frame.data() + field, sum);
  return true;
}

const char* to_string(GsoError e) {
  switch (e) {
    case GsoError::kNotTcpV4:
      return "not a TCP/IPv4 packet";
    case GsoError::kBadHeaders:
      return "bad IPv4/TCP headers";
    case GsoError::kBadMss:
      return "no room for a segment";
  }
  return "gso error";
}

std::expected<std::size_t, GsoError> segment_tcpv4(std::span<const std::byte> packet,
                                                   std::uint16_t gso_size, std::uint16_t mtu,
                                                   std::span<std::byte> scratch, FrameSink sink,
                                                   void* ctx) {
  const std::byte* p = packet.data();
  const std::size_t len = packet.size();
  if (len < kEthHeader) return std::unexpected(GsoError::kBadHeaders);
  std::size_t l3 = kEthHeader;
  std::uint16_t ether_type = be16(p + 12);
  if (ether_type == kEtherTypeVlan) {
    if (len < kEthHeader + kVlanTag) return std::unexpected(GsoError::kBadHeaders);
    ether_type = be16(p + 16);
    l3 += kVlanTag;
  }
  if (ether_type != kEtherTypeIpv4) return std::unexpected(GsoError::kNotTcpV4);
  if (len < l3 + 20) return std::unexpected(GsoError::kBadHeaders);
  const unsigned version_ihl = std::to_integer<unsigned>(p[l3]);
  const std::size_t ihl = (version_ihl & 0xf) * 4u;
  if ((version_ihl >> 4) != 4 || ihl < 20 || len < l3 + ihl + 20) {
    return std::unexpected(GsoError::kBadHeaders);
  }
  if (std::to_integer<std::uint8_t>(p[l3 + 9]) != kProtoTcp) {
    return std::unexpected(GsoError::kNotTcpV4);
  }
  if ((be16(p + l3 + 6) & 0x3fff) != 0) return std::unexpected(GsoError::kBadHeaders);
  const std::size_t l4 = l3 + ihl;
  const std::size_t doff = (std::to_integer<unsigned>(p[l4 + 12]) >> 4) * 4u;
  const std::size_t headers = l4 + doff;
  const std::size_t ip_len = be16(p + l3 + 2);
  // Bytes past the IP total length are link padding, not payload.
  if (doff < 20 || ip_len < ihl + doff || l3 + ip_len > len) {
    return std::unexpected(GsoError::kBadHeaders);
  }
  const std::size_t end = l3 + ip_len;
  if (mtu <= ihl + doff || gso_size == 0) return std::unexpected(GsoError::kBadMss);
  const std::size_t mss = std::min<std::size_t>(gso_size, mtu - ihl - doff);
  if (scratch.size() < headers + mss) return std::unexpected(GsoError::kBadMss);

  const std::size_t payload = end - headers;
  const std::size_t count = payload == 0 ? 1 : (payload + mss - 1) / mss;
  const std::uint32_t seq = be32(p + l4 + 4);
  const std::uint16_t ip_id = be16(p + l3 + 4);
  const std::uint8_t tcp_flags = std::to_integer<std::uint8_t>(p[l4 + 13]);
  std::byte* out = scratch.data();
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t offset = i * mss;
    const std::size_t seg = std::min(mss, payload - offset);
    std::memcpy(out, p, headers);
    std::memcpy(out + headers, p + headers + offset, seg);

    std::byte* ip = out + l3;
    put_be16(ip + 2, static_cast<std::uint32_t>(ihl + doff + seg));
    put_be16(ip + 4, static_cast<std::uint16_t>(ip_id + i));
    put_be16(ip + 10, 0);
    store_sum(ip + 10, static_cast<std::uint16_t>(~csum_fold(csum_add({ip, ihl}, 0))));

    std::byte* tcp = out + l4;
    put_be32(tcp + 4, seq + static_cast<std::uint32_t>(offset));
    std::uint8_t flags = tcp_flags;
    if (i + 1 != count) flags &= static_cast<std::uint8_t>(~(kTcpFin | kTcpPsh));
    if (i != 0) flags &= static_cast<std::uint8_t>(~kTcpCwr);
    tcp[13] = std::byte{flags};
    put_be16(tcp + 16, 0);
    std::byte pseudo[12];
    std::memcpy(pseudo, ip + 12, 8);
    pseudo[8] = std::byte{0};
    pseudo[9] = std::byte{kProtoTcp};
    put_be16(pseudo + 10, static_cast<std::uint32_t>(doff + seg));
    const std::uint64_t acc = csum_add({tcp, doff + seg}, csum_add(pseudo, 0));
    store_sum(tcp + 16, static_cast<std::uint16_t>(~csum_fold(acc)));
    sink(ctx, {out, headers + seg});
  }
  return count;
}

}  // namespace voidbox::net
