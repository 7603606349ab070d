#include "guest_ram.hpp"

#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cstring>
#include <utility>

#include "layout.hpp"

namespace voidbox::kvm {
namespace {

constexpr std::uint64_t kHugePage = 2ull << 20;

// Anonymous memory whose start is 2 MiB aligned. KVM maps a guest page with a
// 2 MiB entry only where the host address and the guest address agree modulo
// 2 MiB, so an unaligned mapping would get 4 KiB guest mappings even when
// the host backs it with huge pages: 512 times more nested page faults.
void* map_aligned(std::uint64_t size) {
  const std::uint64_t span = size + kHugePage;
  // NORESERVE: the guest touches only what it uses; untouched pages cost nothing.
  void* raw = ::mmap(nullptr, span, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return MAP_FAILED;
  const auto base = reinterpret_cast<std::uintptr_t>(raw);
  const auto aligned = (base + kHugePage - 1) & ~(kHugePage - 1);
  if (aligned > base) ::munmap(raw, aligned - base);
  const std::uintptr_t end = base + span, used_end = aligned + size;
  if (end > used_end) ::munmap(reinterpret_cast<void*>(used_end), end - used_end);
  return reinterpret_cast<void*>(aligned);
}

}  // namespace

Result<GuestRam> GuestRam::create(std::uint64_t memory_mb) {
  // 64 GiB is far beyond any sandbox and keeps sizes well inside 64-bit math.
  if (memory_mb < 64 || memory_mb > 64 * 1024) {
    return fail("memory_mb must be between 64 and 65536, got " + std::to_string(memory_mb));
  }
  const std::uint64_t total = memory_mb << 20;
  GuestRam ram;
  const std::uint64_t low = std::min(total, layout::kLowRamEnd);
  const std::uint64_t sizes[2] = {low, total - low};
  const std::uint64_t starts[2] = {0, layout::kHighRamStart};
  for (int i = 0; i < 2; ++i) {
    if (sizes[i] == 0) continue;
    void* p = map_aligned(sizes[i]);
    if (p == MAP_FAILED) return fail_errno("mmap of guest RAM failed");
    ::madvise(p, sizes[i], MADV_DONTDUMP);
    // Transparent huge pages: loading the kernel and initramfs faults 2 MiB at
    // a time instead of 4 KiB (thousands fewer faults before the first
    // KVM_RUN), and the guest gets fewer TLB misses.
    ::madvise(p, sizes[i], MADV_HUGEPAGE);
    ram.regions_.push_back({starts[i], sizes[i], static_cast<std::byte*>(p)});
  }
  ram.view_ = voidbox::virtio::GuestMemory(ram.regions_);
  return ram;
}

GuestRam::GuestRam(GuestRam&& o) noexcept
    : regions_(std::exchange(o.regions_, {})), view_(std::exchange(o.view_, {})) {}

GuestRam& GuestRam::operator=(GuestRam&& o) noexcept {
  if (this != &o) {
    unmap();
    regions_ = std::exchange(o.regions_, {});
    view_ = std::exchange(o.view_, {});
  }
  return *this;
}

GuestRam::~GuestRam() {
  unmap();
}

void GuestRam::unmap() {
  for (const auto& r : regions_) ::munmap(r.host, r.size);
  regions_.clear();
  view_ = {};
}

Result<void> GuestRam::register_with(int vm_fd) const {
  std::uint32_t slot = 0;
  for (const auto& r : regions_) {
    kvm_userspace_memory_region region{};
    region.slot = slot++;
    region.guest_phys_addr = r.guest_phys_addr;
    region.memory_size = r.size;
    region.userspace_addr = reinterpret_cast<std::uint64_t>(r.host);
    if (::ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
      return fail_errno("KVM_SET_USER_MEMORY_REGION failed");
    }
  }
  return {};
}

std::vector<RamRange> GuestRam::ranges() const {
  std::vector<RamRange> out;
  for (const auto& r : regions_) out.push_back({r.guest_phys_addr, r.size});
  return out;
}

std::uint64_t GuestRam::low_end() const {
  return regions_.empty() ? 0 : regions_.front().size;
}

std::uint64_t GuestRam::total_bytes() const {
  std::uint64_t n = 0;
  for (const auto& r : regions_) n += r.size;
  return n;
}

Result<void> GuestRam::write(std::uint64_t gpa, const void* data, std::uint64_t len) const {
  auto s = view_.slice(gpa, len);
  if (!s) {
    return fail("guest write of " + std::to_string(len) + " bytes at " + std::to_string(gpa) +
                " is outside RAM");
  }
  if (len != 0) std::memcpy(s->data(), data, len);
  return {};
}

}  // namespace voidbox::kvm
