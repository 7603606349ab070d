// The FUSE wire format as virtio-fs carries it (Linux include/uapi/linux/
// fuse.h; struct layouts from <linux/fuse.h>): one request is a
// fuse_in_header, an opcode-specific fixed struct, then NUL-terminated names
// or raw data; one reply is a fuse_out_header and its payload.
//
// parse_request() checks every length the guest sends against the bytes it
// sent: the header's len, the fixed struct, each name's terminator, WRITE's
// size and BATCH_FORGET's count. The views it returns point into the input.
#pragma once

#include <linux/fuse.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <expected>
#include <span>
#include <string_view>
#include <vector>

namespace voidbox::virtiofs {

inline constexpr std::size_t kInHeaderSize = sizeof(fuse_in_header);
inline constexpr std::size_t kOutHeaderSize = sizeof(fuse_out_header);
// Largest READ or WRITE payload; INIT announces it as max_write.
inline constexpr std::uint32_t kMaxIo = 1024 * 1024;
// Largest request the device copies out of guest memory.
inline constexpr std::size_t kMaxRequest = kMaxIo + 4096;
inline constexpr std::size_t kMaxName = 255;
inline constexpr std::size_t kMaxLinkTarget = 4095;

enum class ParseError { kShort, kBadLength, kBadBody };

struct Request {
  fuse_in_header header{};
  // The opcode's fixed struct, zero-filled past what an older guest sent
  // (only INIT has a shorter compatible form).
  alignas(8) std::byte fixed[96]{};
  std::string_view name;            // first name (LOOKUP, MKDIR, CREATE, ...)
  std::string_view name2;           // RENAME's new name, SYMLINK's target
  std::span<const std::byte> data;  // WRITE's bytes, BATCH_FORGET's entries

  template <typename T>
  T body() const {
    static_assert(sizeof(T) <= sizeof fixed);
    T out;
    std::memcpy(&out, fixed, sizeof out);
    return out;
  }
};

std::expected<Request, ParseError> parse_request(std::span<const std::byte> bytes);

// A reply under construction: the out header first, then payload; nothing
// is appended past `limit` bytes in all (ok() turns false instead).
class ReplyBuilder {
 public:
  ReplyBuilder(std::vector<std::byte>& out, std::size_t limit, std::uint64_t unique);
  template <typename T>
  void put(const T& v) {
    append(&v, sizeof v);
  }
  void append(const void* p, std::size_t n);
  // Room for `n` more bytes, or null when they would not fit.
  std::byte* reserve(std::size_t n);
  void shrink(std::size_t n) { out_.resize(out_.size() - n); }
  std::size_t size() const { return out_.size(); }
  std::size_t room() const { return ok_ && limit_ > out_.size() ? limit_ - out_.size() : 0; }
  bool ok() const { return ok_; }
  // Writes the header (len and error); an error drops the payload.
  void finish(int error);

 private:
  std::vector<std::byte>& out_;
  std::size_t limit_;
  std::uint64_t unique_;
  bool ok_ = true;
};

}  // namespace voidbox::virtiofs
