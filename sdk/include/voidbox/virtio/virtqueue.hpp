// Device side of a virtio 1.x split virtqueue.
//
// The guest driver owns the rings and may rewrite them at any time, so every
// index and address read from them is validated before use:
//  - queue size must be a power of two no larger than the device's maximum;
//  - the three rings must lie inside guest memory (checked arithmetic) and be
//    aligned as the spec requires;
//  - avail->idx running more than `size` ahead of what we consumed marks the
//    queue broken (the device must then ask for a reset);
//  - a descriptor chain is walked at most `size` steps (so cycles end), an
//    indirect table holds at most kMaxIndirectEntries entries and may not nest,
//    every buffer must lie inside guest memory, and readable buffers must come
//    before writable ones. A chain breaking any rule is dropped: its head goes
//    back to the used ring with length 0 so the driver can reclaim it.
//
// Threading: a Virtqueue is not thread-safe; one device thread uses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <vector>

#include "voidbox/virtio/guest_memory.hpp"

namespace voidbox::virtio {

inline constexpr std::uint16_t kDescFlagNext = 1;
inline constexpr std::uint16_t kDescFlagWrite = 2;
inline constexpr std::uint16_t kDescFlagIndirect = 4;
inline constexpr std::uint16_t kAvailFlagNoInterrupt = 1;
inline constexpr std::uint16_t kMaxQueueSize = 32768;
inline constexpr std::uint32_t kMaxIndirectEntries = 1024;

// What the driver programmed through the transport's queue registers.
struct QueueConfig {
  std::uint16_t size = 0;
  bool ready = false;
  std::uint64_t desc_addr = 0;
  std::uint64_t avail_addr = 0;
  std::uint64_t used_addr = 0;
};

enum class QueueError {
  kNotActive,    // pop/add_used before a successful activate()
  kBadSize,      // zero, not a power of two, or above the maximum
  kBadRing,      // a ring lies outside guest memory or is misaligned
  kBadAvailIdx,  // avail->idx more than `size` ahead: the queue is broken
  kBadUsedId,    // add_used with an id >= size
  kBroken,       // an earlier error broke the queue; reset needed
};

const char* to_string(QueueError e);

// One guest buffer of a chain, already checked to lie inside guest memory.
struct Segment {
  std::uint64_t gpa = 0;
  std::uint32_t len = 0;
  bool writable = false;
};

// A popped, validated descriptor chain.
class DescriptorChain {
 public:
  std::uint16_t head() const { return head_; }
  std::span<const Segment> segments() const { return segments_; }
  std::uint64_t readable_bytes() const { return readable_bytes_; }
  std::uint64_t writable_bytes() const { return writable_bytes_; }

 private:
  friend class Virtqueue;
  std::uint16_t head_ = 0;
  std::vector<Segment> segments_;
  std::uint64_t readable_bytes_ = 0;
  std::uint64_t writable_bytes_ = 0;
};

// Sequential copy-out of a chain's readable (driver -> device) bytes.
class ChainReader {
 public:
  ChainReader(const GuestMemory& memory, const DescriptorChain& chain);
  // Copies up to out.size() bytes; returns how many were copied.
  std::size_t read(std::span<std::byte> out);
  std::size_t skip(std::size_t n);
  std::uint64_t remaining() const { return remaining_; }

 private:
  const GuestMemory& memory_;
  std::span<const Segment> segments_;
  std::size_t index_ = 0;
  std::uint32_t offset_ = 0;
  std::uint64_t remaining_ = 0;
};

// Sequential copy-in to a chain's writable (device -> driver) bytes.
class ChainWriter {
 public:
  ChainWriter(const GuestMemory& memory, const DescriptorChain& chain);
  // Copies up to in.size() bytes; returns how many were copied.
  std::size_t write(std::span<const std::byte> in);
  std::uint64_t remaining() const { return remaining_; }
  std::uint64_t written() const { return written_; }

 private:
  const GuestMemory& memory_;
  std::span<const Segment> segments_;
  std::size_t index_ = 0;
  std::uint32_t offset_ = 0;
  std::uint64_t remaining_ = 0;
  std::uint64_t written_ = 0;
};

// Everything needed to resume a queue after a snapshot restore.
struct QueueState {
  QueueConfig config;
  std::uint16_t max_size = 0;
  std::uint16_t next_avail = 0;
  std::uint16_t next_used = 0;
  std::uint16_t signalled_used = 0;
  bool event_idx = false;
  bool indirect = false;
  bool broken = false;
};

struct QueueStats {
  std::uint64_t chains_popped = 0;
  std::uint64_t chains_dropped = 0;  // malformed chains returned with len 0
};

class Virtqueue {
 public:
  explicit Virtqueue(std::uint16_t max_size = 256);

  std::uint16_t max_size() const { return max_size_; }
  const QueueConfig& config() const { return config_; }

  // Register-level setters; validation happens in activate().
  void set_size(std::uint16_t size) { config_.size = size; }
  void set_desc_addr(std::uint64_t gpa) { config_.desc_addr = gpa; }
  void set_avail_addr(std::uint64_t gpa) { config_.avail_addr = gpa; }
  void set_used_addr(std::uint64_t gpa) { config_.used_addr = gpa; }
  void set_config(const QueueConfig& config) { config_ = config; }

  // Validates the configuration against `memory` and starts the queue.
  // `driver_features` enables EVENT_IDX / INDIRECT_DESC if negotiated.
  std::expected<void, QueueError> activate(const GuestMemory& memory,
                                           std::uint64_t driver_features);
  bool active() const { return active_; }
  bool broken() const { return broken_; }
  // Back to the unconfigured state (size 0, addresses 0, not active).
  void reset();

  // Next available chain, or nullopt if the driver has made none available.
  // Malformed chains are dropped (and returned to the used ring) internally.
  std::expected<std::optional<DescriptorChain>, QueueError> pop();
  // As pop(), into `chain`, whose segment storage is reused: a device that
  // keeps one chain per slot pops without allocating in the steady state.
  // Returns false (and leaves `chain` empty) when no chain is available.
  std::expected<bool, QueueError> pop_into(DescriptorChain& chain);
  // Puts a chain back, e.g. when the device cannot use it yet (only the most
  // recently popped chain).
  void undo_pop();
  // Whether the driver has made chains available that pop() has not taken.
  std::expected<bool, QueueError> has_available();

  // Returns `head` to the driver with `len` bytes written into it.
  std::expected<void, QueueError> add_used(std::uint16_t head, std::uint32_t len);

  // Whether the driver wants an interrupt for the used entries added since the
  // last call that returned true (VIRTIO_F_RING_EVENT_IDX aware).
  bool needs_notification();

  QueueState save() const;
  // Restores a saved state; validates it like activate() (size clamped to the
  // maximum, rings re-checked against `memory`).
  std::expected<void, QueueError> restore(const GuestMemory& memory, const QueueState& state);

  const QueueStats& stats() const { return stats_; }
  const GuestMemory& memory() const { return memory_; }

 private:
  enum class Walk { kOk, kMalformed };
  Walk walk_chain(std::uint16_t head, DescriptorChain& chain) const;
  Walk walk_indirect(std::uint64_t table, std::uint32_t len, DescriptorChain& chain) const;
  Walk push_segment(std::uint64_t gpa, std::uint32_t len, bool writable,
                    DescriptorChain& chain) const;
  std::uint16_t load_avail_idx() const;
  void publish_avail_event();
  std::expected<void, QueueError> fail(QueueError e);

  std::uint16_t max_size_;
  QueueConfig config_;
  GuestMemory memory_;
  bool active_ = false;
  bool broken_ = false;
  bool event_idx_ = false;
  bool indirect_ = false;
  std::byte* desc_ = nullptr;  // host views of the rings, checked at activate()
  std::byte* avail_ = nullptr;
  std::byte* used_ = nullptr;
  std::uint16_t next_avail_ = 0;
  std::uint16_t next_used_ = 0;
  std::uint16_t signalled_used_ = 0;
  QueueStats stats_;
};

}  // namespace voidbox::virtio
