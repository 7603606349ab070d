// Test double for the guest side of virtio: plain host memory posing as guest
// RAM, and a split queue laid out in it that the test drives the way a guest
// driver would (add chains, publish avail, read back used entries). It trusts
// nothing the device writes either: reads go through the same bounds checks.
// Not for production code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <vector>

#include "voidbox/virtio/guest_memory.hpp"
#include "voidbox/virtio/virtqueue.hpp"

namespace voidbox::virtio::testing {

// A block of zeroed, 4 KiB-aligned host memory at guest address `base`, with
// a bump allocator for rings and buffers.
class FakeGuestRam {
 public:
  explicit FakeGuestRam(std::uint64_t size = 1 << 20, std::uint64_t base = 0x100000)
      : base_(base), size_(size), storage_(new std::byte[size + 4096]()) {
    auto addr = reinterpret_cast<std::uintptr_t>(storage_.get());
    host_ = storage_.get() + ((4096 - addr % 4096) % 4096);
    next_ = base_;
  }

  GuestMemory memory() const {
    MemoryRegion r{base_, size_, host_};
    return GuestMemory(std::span<const MemoryRegion>(&r, 1));
  }
  std::uint64_t base() const { return base_; }
  std::uint64_t size() const { return size_; }
  std::uint64_t end() const { return base_ + size_; }

  std::uint64_t alloc(std::uint64_t len, std::uint64_t align = 16) {
    next_ = (next_ + align - 1) / align * align;
    if (next_ + len > base_ + size_) throw std::runtime_error("FakeGuestRam exhausted");
    const std::uint64_t gpa = next_;
    next_ += len;
    return gpa;
  }

  std::byte* at(std::uint64_t gpa, std::uint64_t len) {
    if (gpa < base_ || gpa - base_ > size_ || len > size_ - (gpa - base_)) {
      throw std::out_of_range("FakeGuestRam access out of range");
    }
    return host_ + (gpa - base_);
  }
  void write(std::uint64_t gpa, std::span<const std::byte> data) {
    std::byte* to = at(gpa, data.size());
    if (!data.empty()) std::memcpy(to, data.data(), data.size());  // an empty span may be null
  }
  std::vector<std::byte> read(std::uint64_t gpa, std::uint64_t len) {
    const std::byte* p = at(gpa, len);
    return {p, p + len};
  }
  template <typename T>
  void put(std::uint64_t gpa, T v) {
    std::memcpy(at(gpa, sizeof(T)), &v, sizeof(T));
  }
  template <typename T>
  T get(std::uint64_t gpa) {
    T v;
    std::memcpy(&v, at(gpa, sizeof(T)), sizeof(T));
    return v;
  }

 private:
  std::uint64_t base_;
  std::uint64_t size_;
  std::unique_ptr<std::byte[]> storage_;
  std::byte* host_;
  std::uint64_t next_;
};

// One buffer of a chain as the driver describes it.
struct FakeBuffer {
  std::uint64_t gpa;
  std::uint32_t len;
  bool writable;
};

struct UsedElem {
  std::uint32_t id;
  std::uint32_t len;
};

// The driver's view of one split queue.
class FakeQueue {
 public:
  FakeQueue(FakeGuestRam& ram, std::uint16_t size) : ram_(ram), size_(size) {
    desc_ = ram.alloc(16u * size, 16);
    avail_ = ram.alloc(6u + 2u * size, 2);
    used_ = ram.alloc(6u + 8u * size, 4);
  }

  QueueConfig config() const { return {size_, true, desc_, avail_, used_}; }
  std::uint16_t size() const { return size_; }
  std::uint64_t desc_addr() const { return desc_; }
  std::uint64_t avail_addr() const { return avail_; }
  std::uint64_t used_addr() const { return used_; }

  void set_desc(std::uint16_t i, std::uint64_t addr, std::uint32_t len, std::uint16_t flags,
                std::uint16_t next) {
    const std::uint64_t d = desc_ + 16u * i;
    ram_.put<std::uint64_t>(d, addr);
    ram_.put<std::uint32_t>(d + 8, len);
    ram_.put<std::uint16_t>(d + 12, flags);
    ram_.put<std::uint16_t>(d + 14, next);
  }

  // Writes a chain into consecutive free descriptors (wrapping) and returns
  // its head; does not publish it.
  std::uint16_t write_chain(std::span<const FakeBuffer> bufs) {
    const std::uint16_t head = next_desc_;
    for (std::size_t i = 0; i < bufs.size(); ++i) {
      const std::uint16_t idx = next_desc_;
      next_desc_ = static_cast<std::uint16_t>((next_desc_ + 1) % size_);
      const bool last = i + 1 == bufs.size();
      set_desc(idx, bufs[i].gpa, bufs[i].len,
               static_cast<std::uint16_t>((last ? 0 : kDescFlagNext) |
                                          (bufs[i].writable ? kDescFlagWrite : 0)),
               last ? 0 : next_desc_);
    }
    return head;
  }

  // Puts `head` on the avail ring and bumps avail->idx.
  void publish(std::uint16_t head) {
    ram_.put<std::uint16_t>(avail_ + 4 + 2u * (avail_idx_ % size_), head);
    ++avail_idx_;
    ram_.put<std::uint16_t>(avail_ + 2, avail_idx_);
  }

  std::uint16_t add_chain(std::span<const FakeBuffer> bufs) {
    const std::uint16_t head = write_chain(bufs);
    publish(head);
    return head;
  }
  std::uint16_t add_chain(std::initializer_list<FakeBuffer> bufs) {
    return add_chain(std::span<const FakeBuffer>(bufs.begin(), bufs.size()));
  }

  void set_avail_idx(std::uint16_t idx) {
    avail_idx_ = idx;
    ram_.put<std::uint16_t>(avail_ + 2, idx);
  }
  std::uint16_t avail_idx() const { return avail_idx_; }
  void set_avail_flags(std::uint16_t f) { ram_.put<std::uint16_t>(avail_, f); }
  void set_used_event(std::uint16_t v) { ram_.put<std::uint16_t>(avail_ + 4 + 2u * size_, v); }
  std::uint16_t avail_event() { return ram_.get<std::uint16_t>(used_ + 4 + 8u * size_); }

  std::uint16_t used_idx() { return ram_.get<std::uint16_t>(used_ + 2); }
  UsedElem used_elem(std::uint16_t ring_index) {
    const std::uint64_t e = used_ + 4 + 8u * (ring_index % size_);
    return {ram_.get<std::uint32_t>(e), ram_.get<std::uint32_t>(e + 4)};
  }
  // The next used entry the driver has not consumed yet.
  std::optional<UsedElem> pop_used() {
    if (last_used_ == used_idx()) return std::nullopt;
    return used_elem(last_used_++);
  }
  // Makes the queue look as if `n` chains had already cycled through, to test
  // 16-bit index wraparound.
  void start_indices_at(std::uint16_t n) {
    avail_idx_ = n;
    last_used_ = n;
    ram_.put<std::uint16_t>(avail_ + 2, n);
  }

 private:
  FakeGuestRam& ram_;
  std::uint16_t size_;
  std::uint64_t desc_ = 0;
  std::uint64_t avail_ = 0;
  std::uint64_t used_ = 0;
  std::uint16_t next_desc_ = 0;
  std::uint16_t avail_idx_ = 0;
  std::uint16_t last_used_ = 0;
};

}  // namespace voidbox::virtio::testing
