// What the virtio fuzz harnesses share: the input reader, one region of
// guest RAM, and the invariant checks. A violated invariant aborts, which
// libFuzzer and the corpus-replay test both report as a failure.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "voidbox/virtio/virtqueue.hpp"

namespace voidbox::virtio::fuzz {

[[noreturn]] inline void violated(const char* what, const char* file, int line) {
  std::fprintf(stderr, "fuzz invariant violated: %s (%s:%d)\n", what, file, line);
  std::abort();
}

#define VB_FUZZ_CHECK(cond) \
  ((cond) ? (void)0 : ::voidbox::virtio::fuzz::violated(#cond, __FILE__, __LINE__))

inline constexpr std::size_t kRamSize = 64 * 1024;
inline constexpr std::uint64_t kRamBase = 0x10000;

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  template <typename T>
  T take() {
    T v{};
    const std::size_t n = std::min(sizeof(T), size_ - pos_);
    if (n > 0) std::memcpy(&v, data_ + pos_, n);  // an empty input may be null
    pos_ += n;
    return v;
  }
  std::size_t remaining() const { return size_ - pos_; }
  const std::uint8_t* here() const { return data_ + pos_; }
  void skip(std::size_t n) { pos_ += std::min(n, remaining()); }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

struct Ram {
  std::vector<std::byte> bytes = std::vector<std::byte>(kRamSize);
  GuestMemory memory() {
    MemoryRegion r{kRamBase, kRamSize, bytes.data()};
    return GuestMemory(std::span<const MemoryRegion>(&r, 1));
  }
  // Fills RAM from the input (what the guest wrote before notifying).
  void fill(Input& in, std::size_t n) {
    n = std::min({n, in.remaining(), kRamSize});
    if (n > 0) std::memcpy(bytes.data(), in.here(), n);
    in.skip(n);
  }
  template <typename T>
  T load(std::uint64_t gpa) const {
    T v{};
    std::memcpy(&v, bytes.data() + (gpa - kRamBase), sizeof v);
    return v;
  }
};

// [gpa, gpa + len) lies inside the fuzz RAM (no overflow in the check).
inline bool in_ram(std::uint64_t gpa, std::uint64_t len) {
  return gpa >= kRamBase && len <= kRamSize && gpa - kRamBase <= kRamSize - len;
}

// What any chain the queue hands out must satisfy, however hostile the rings:
// a head inside the queue, only non-empty buffers inside guest memory,
// readable before writable, byte counts that add up, a bounded length.
inline void check_chain(const DescriptorChain& chain, std::uint16_t queue_size) {
  VB_FUZZ_CHECK(chain.head() < queue_size);
  VB_FUZZ_CHECK(chain.segments().size() <= std::size_t{queue_size} + kMaxIndirectEntries);
  std::uint64_t readable = 0, writable = 0;
  bool seen_writable = false;
  for (const Segment& s : chain.segments()) {
    VB_FUZZ_CHECK(s.len > 0);
    VB_FUZZ_CHECK(in_ram(s.gpa, s.len));
    VB_FUZZ_CHECK(s.writable || !seen_writable);
    seen_writable = seen_writable || s.writable;
    (s.writable ? writable : readable) += s.len;
  }
  VB_FUZZ_CHECK(readable == chain.readable_bytes());
  VB_FUZZ_CHECK(writable == chain.writable_bytes());
}

}  // namespace voidbox::virtio::fuzz
