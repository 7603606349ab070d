#include "transport/frame_queue.hpp"

namespace voidbox::net {

FrameQueue::Push FrameQueue::push(std::span<const std::uint8_t> frame) {
  std::lock_guard lock(mutex_);
  if (frames_.size() >= kMaxFrames || bytes_ + frame.size() > kMaxBytes) return Push::full;
  Frame buffer;
  if (!spare_.empty()) {
    buffer = std::move(spare_.back());
    spare_.pop_back();
  }
  buffer.assign(frame.begin(), frame.end());
  bytes_ += frame.size();
  frames_.push_back(std::move(buffer));
  return frames_.size() == 1 ? Push::queued_first : Push::queued;
}

void FrameQueue::take(std::vector<Frame>& out) {
  out.clear();
  std::lock_guard lock(mutex_);
  out.swap(frames_);
  bytes_ = 0;
}

void FrameQueue::recycle(std::vector<Frame>& frames) {
  std::lock_guard lock(mutex_);
  for (Frame& frame : frames) {
    // Jumbo buffers are not kept: a burst of them would pin memory.
    if (spare_.size() < kMaxFrames && frame.capacity() <= 2048) spare_.push_back(std::move(frame));
  }
  frames.clear();
}

}  // namespace voidbox::net
