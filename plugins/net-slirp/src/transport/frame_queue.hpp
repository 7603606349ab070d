// Guest frames on their way from the device's thread to the loop thread:
// bounded in frames and bytes (a full queue drops, as a congested wire
// would), with buffers reused so the steady state does not allocate.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

namespace voidbox::net {

class FrameQueue {
 public:
  using Frame = std::vector<std::uint8_t>;
  static constexpr std::size_t kMaxFrames = 1024;
  static constexpr std::size_t kMaxBytes = 8u << 20;

  enum class Push { queued_first, queued, full };
  // queued_first: the queue was empty, so the consumer needs a wake-up.
  Push push(std::span<const std::uint8_t> frame);
  // Moves every queued frame into `out` (emptied first).
  void take(std::vector<Frame>& out);
  // Returns buffers from a take for reuse.
  void recycle(std::vector<Frame>& frames);

 private:
  std::mutex mutex_;
  std::vector<Frame> frames_;
  std::vector<Frame> spare_;
  std::size_t bytes_ = 0;
};

}  // namespace voidbox::net
