// The virtio-vsock packet header (virtio 1.2 §5.10.6) and its codec.
// Every field comes from the guest and is validated by the caller.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace voidbox::kvm::vsock {

inline constexpr std::size_t kHeaderSize = 44;
inline constexpr std::uint64_t kHostCid = 2;

inline constexpr std::uint16_t kTypeStream = 1;

enum class Op : std::uint16_t {
  kInvalid = 0,
  kRequest = 1,
  kResponse = 2,
  kRst = 3,
  kShutdown = 4,
  kRw = 5,
  kCreditUpdate = 6,
  kCreditRequest = 7,
};

// SHUTDOWN flags: the sender will receive / send no more.
inline constexpr std::uint32_t kShutdownRcv = 1;
inline constexpr std::uint32_t kShutdownSend = 2;

struct Header {
  std::uint64_t src_cid = 0;
  std::uint64_t dst_cid = 0;
  std::uint32_t src_port = 0;
  std::uint32_t dst_port = 0;
  std::uint32_t len = 0;
  std::uint16_t type = kTypeStream;
  std::uint16_t op = 0;
  std::uint32_t flags = 0;
  std::uint32_t buf_alloc = 0;
  std::uint32_t fwd_cnt = 0;
};

Header decode_header(std::span<const std::byte, kHeaderSize> raw);
void encode_header(const Header& h, std::span<std::byte, kHeaderSize> out);

// A known op code, or nullopt.
std::optional<Op> op_of(const Header& h);

}  // namespace voidbox::kvm::vsock
