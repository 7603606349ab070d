// A non-owning, bounds-checked view of guest RAM.
//
// Every guest physical address (GPA) is hostile: translation checks that the
// whole range [gpa, gpa+len) lies inside one region, with arithmetic that
// cannot overflow. Accesses never straddle two regions (the VMM maps RAM as a
// few large regions, and virtio rings/buffers that straddle are rejected).
//
// The guest may modify its memory concurrently with any access; callers copy
// values out (read_le) rather than keeping references into guest memory, and
// order accesses with explicit fences where the virtio spec needs them.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <expected>
#include <span>
#include <type_traits>
#include <vector>

namespace voidbox::virtio {

// One contiguous piece of guest RAM mapped in the host.
struct MemoryRegion {
  std::uint64_t guest_phys_addr = 0;
  std::uint64_t size = 0;
  std::byte* host = nullptr;  // not owned; valid for the lifetime of the VM
};

enum class MemError {
  kOutOfBounds,  // range not (entirely) inside one region
  kOverflow,     // gpa + len wraps around
};

inline const char* to_string(MemError e) {
  return e == MemError::kOverflow ? "guest address overflow" : "guest address out of bounds";
}

class GuestMemory {
 public:
  GuestMemory() = default;
  // Copies the region list (not the memory). Regions with a null host pointer,
  // zero size, or whose end overflows are ignored.
  explicit GuestMemory(std::span<const MemoryRegion> regions) {
    for (const auto& r : regions) {
      if (r.host == nullptr || r.size == 0) continue;
      if (r.guest_phys_addr + r.size < r.guest_phys_addr) continue;
      regions_.push_back(r);
    }
    std::sort(regions_.begin(), regions_.end(), [](const MemoryRegion& a, const MemoryRegion& b) {
      return a.guest_phys_addr < b.guest_phys_addr;
    });
  }

  std::span<const MemoryRegion> regions() const { return regions_; }

  // Host view of [gpa, gpa+len). len == 0 is valid if gpa lies in (or at the
  // end of) a region.
  std::expected<std::span<std::byte>, MemError> slice(std::uint64_t gpa, std::uint64_t len) const {
    std::uint64_t end = 0;
    if (__builtin_add_overflow(gpa, len, &end)) return std::unexpected(MemError::kOverflow);
    for (const auto& r : regions_) {
      if (gpa < r.guest_phys_addr) break;
      const std::uint64_t offset = gpa - r.guest_phys_addr;
      if (offset > r.size) continue;
      if (len > r.size - offset) continue;
      return std::span<std::byte>(r.host + offset, static_cast<std::size_t>(len));
    }
    return std::unexpected(MemError::kOutOfBounds);
  }

  bool contains(std::uint64_t gpa, std::uint64_t len) const { return slice(gpa, len).has_value(); }

  std::expected<void, MemError> read(std::uint64_t gpa, std::span<std::byte> out) const {
    auto s = slice(gpa, out.size());
    if (!s) return std::unexpected(s.error());
    if (!out.empty()) std::memcpy(out.data(), s->data(), out.size());
    return {};
  }

  std::expected<void, MemError> write(std::uint64_t gpa, std::span<const std::byte> in) const {
    auto s = slice(gpa, in.size());
    if (!s) return std::unexpected(s.error());
    if (!in.empty()) std::memcpy(s->data(), in.data(), in.size());
    return {};
  }

  // Little-endian integer at gpa (any alignment).
  template <typename T>
  requires std::is_integral_v<T> std::expected<T, MemError> read_le(std::uint64_t gpa)
  const {
    auto s = slice(gpa, sizeof(T));
    if (!s) return std::unexpected(s.error());
    return load_le<T>(s->data());
  }

  template <typename T>
  requires std::is_integral_v<T> std::expected<void, MemError> write_le(std::uint64_t gpa, T value)
  const {
    auto s = slice(gpa, sizeof(T));
    if (!s) return std::unexpected(s.error());
    store_le<T>(s->data(), value);
    return {};
  }

  // Helpers on raw host pointers already validated by slice().
  template <typename T>
  static T load_le(const std::byte* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    if constexpr (std::endian::native == std::endian::big) v = std::byteswap(v);
    return v;
  }
  template <typename T>
  static void store_le(std::byte* p, T v) {
    if constexpr (std::endian::native == std::endian::big) v = std::byteswap(v);
    std::memcpy(p, &v, sizeof(T));
  }

 private:
  std::vector<MemoryRegion> regions_;
};

}  // namespace voidbox::virtio
