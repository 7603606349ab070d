// Frames for the guest that found no rx buffer yet: a FIFO bounded in frames
// and in bytes, stored back to back in one ring of bytes so that queueing a
// frame never allocates (the ring itself is allocated on first use, so an
// idle device costs nothing). Not thread-safe: the device's rx lock guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>

namespace voidbox::net {

class RxBacklog {
 public:
  RxBacklog(std::size_t max_frames, std::size_t max_bytes)
      : max_frames_(max_frames), capacity_(max_bytes) {}

  // False (nothing queued) when the frame would pass either bound.
  bool push(std::span<const std::byte> frame);
  bool empty() const { return frames_ == 0; }
  std::size_t frames() const { return frames_; }
  std::size_t bytes() const { return used_; }
  // The oldest frame, in two pieces when it wraps around the ring's end.
  std::pair<std::span<const std::byte>, std::span<const std::byte>> front() const;
  void pop();
  void clear() { head_ = used_ = frames_ = 0; }

 private:
  static constexpr std::size_t kPrefix = sizeof(std::uint32_t);
  void copy_in(std::size_t at, std::span<const std::byte> data);
  std::size_t wrap(std::size_t at) const { return at >= capacity_ ? at - capacity_ : at; }
  std::uint32_t length_at(std::size_t at) const;

  std::size_t max_frames_;
  std::size_t capacity_;
  std::unique_ptr<std::byte[]> ring_;
  std::size_t head_ = 0;  // offset of the oldest record
  std::size_t used_ = 0;  // bytes in use, length prefixes included
  std::size_t frames_ = 0;
};

}  // namespace voidbox::net
