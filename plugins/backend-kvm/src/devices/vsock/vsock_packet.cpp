#include "vsock_packet.hpp"

#include "voidbox/virtio/guest_memory.hpp"

namespace voidbox::kvm::vsock {

namespace {
using virtio::GuestMemory;
}

Header decode_header(std::span<const std::byte, kHeaderSize> raw) {
  const std::byte* p = raw.data();
  Header h;
  h.src_cid = GuestMemory::load_le<std::uint64_t>(p + 0);
  h.dst_cid = GuestMemory::load_le<std::uint64_t>(p + 8);
  h.src_port = GuestMemory::load_le<std::uint32_t>(p + 16);
  h.dst_port = GuestMemory::load_le<std::uint32_t>(p + 20);
  h.len = GuestMemory::load_le<std::uint32_t>(p + 24);
  h.type = GuestMemory::load_le<std::uint16_t>(p + 28);
  h.op = GuestMemory::load_le<std::uint16_t>(p + 30);
  h.flags = GuestMemory::load_le<std::uint32_t>(p + 32);
  h.buf_alloc = GuestMemory::load_le<std::uint32_t>(p + 36);
  h.fwd_cnt = GuestMemory::load_le<std::uint32_t>(p + 40);
  return h;
}

void encode_header(const Header& h, std::span<std::byte, kHeaderSize> out) {
  std::byte* p = out.data();
  GuestMemory::store_le<std::uint64_t>(p + 0, h.src_cid);
  GuestMemory::store_le<std::uint64_t>(p + 8, h.dst_cid);
  GuestMemory::store_le<std::uint32_t>(p + 16, h.src_port);
  GuestMemory::store_le<std::uint32_t>(p + 20, h.dst_port);
  GuestMemory::store_le<std::uint32_t>(p + 24, h.len);
  GuestMemory::store_le<std::uint16_t>(p + 28, h.type);
  GuestMemory::store_le<std::uint16_t>(p + 30, h.op);
  GuestMemory::store_le<std::uint32_t>(p + 32, h.flags);
  GuestMemory::store_le<std::uint32_t>(p + 36, h.buf_alloc);
  GuestMemory::store_le<std::uint32_t>(p + 40, h.fwd_cnt);
}

std::optional<Op> op_of(const Header& h) {
  if (h.op >= 1 && h.op <= 7) return static_cast<Op>(h.op);
  return std::nullopt;
}

}  // namespace voidbox::kvm::vsock
