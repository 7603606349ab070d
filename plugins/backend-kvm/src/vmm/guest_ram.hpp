// Guest RAM: one anonymous mapping per memslot, split around the 32-bit hole.
#pragma once

#include <cstdint>
#include <vector>

#include "result.hpp"
#include "voidbox/virtio/guest_memory.hpp"

namespace voidbox::kvm {

struct RamRange {
  std::uint64_t start = 0;
  std::uint64_t size = 0;
};

class GuestRam {
 public:
  // Maps memory_mb of RAM: [0, min(size, hole)) and the rest from 4 GiB.
  static Result<GuestRam> create(std::uint64_t memory_mb);

  GuestRam() = default;
  GuestRam(GuestRam&&) noexcept;
  GuestRam& operator=(GuestRam&&) noexcept;
  GuestRam(const GuestRam&) = delete;
  GuestRam& operator=(const GuestRam&) = delete;
  ~GuestRam();

  // Registers every region as a KVM memslot (slots 0, 1).
  Result<void> register_with(int vm_fd) const;

  const voidbox::virtio::GuestMemory& memory() const { return view_; }
  std::vector<RamRange> ranges() const;
  std::uint64_t low_end() const;  // end of RAM below the hole
  std::uint64_t total_bytes() const;

  // Writes bytes at gpa; fails if [gpa, gpa+len) is not RAM.
  Result<void> write(std::uint64_t gpa, const void* data, std::uint64_t len) const;

 private:
  void unmap();
  std::vector<voidbox::virtio::MemoryRegion> regions_;
  voidbox::virtio::GuestMemory view_;
};

}  // namespace voidbox::kvm
