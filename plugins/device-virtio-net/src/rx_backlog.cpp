#include "rx_backlog.hpp"

#include <algorithm>
#include <cstring>

namespace voidbox::net {

bool RxBacklog::push(std::span<const std::byte> frame) {
  const std::size_t record = kPrefix + frame.size();
  if (frames_ >= max_frames_ || record > capacity_ - used_) return false;
  if (!ring_) ring_.reset(new std::byte[capacity_]);
  const std::size_t tail = wrap(head_ + used_);
  const auto len = static_cast<std::uint32_t>(frame.size());
  copy_in(tail, std::as_bytes(std::span(&len, 1)));
  copy_in(wrap(tail + kPrefix), frame);
  used_ += record;
  ++frames_;
  return true;
}

void RxBacklog::copy_in(std::size_t at, std::span<const std::byte> data) {
  const std::size_t first = std::min(data.size(), capacity_ - at);
  if (first > 0) std::memcpy(ring_.get() + at, data.data(), first);
  if (data.size() > first) std::memcpy(ring_.get(), data.data() + first, data.size() - first);
}

std::uint32_t RxBacklog::length_at(std::size_t at) const {
  std::byte raw[kPrefix];
  for (std::size_t i = 0; i < kPrefix; ++i) raw[i] = ring_[wrap(at + i)];
  std::uint32_t len;
  std::memcpy(&len, raw, kPrefix);
  return len;
}

std::pair<std::span<const std::byte>, std::span<const std::byte>> RxBacklog::front() const {
  if (frames_ == 0) return {};
  const std::size_t len = length_at(head_);
  const std::size_t at = wrap(head_ + kPrefix);
  const std::size_t first = std::min(len, capacity_ - at);
  return {{ring_.get() + at, first}, {ring_.get(), len - first}};
}

void RxBacklog::pop() {
  if (frames_ == 0) return;
  const std::size_t record = kPrefix + length_at(head_);
  head_ = wrap(head_ + record);
  used_ -= record;
  if (--frames_ == 0) head_ = used_ = 0;
}

}  // namespace voidbox::net
