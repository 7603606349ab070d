#include "input_queue.hpp"

#include <unistd.h>

#include <cerrno>

namespace voidbox::agent {

InputQueue::PushResult InputQueue::push(std::vector<std::uint8_t> data, bool eof) {
  PushResult result = PushResult::Queued;
  {
    std::lock_guard lock(mu_);
    if (closed_) return PushResult::Closed;
    if (eof_) return PushResult::Queued;  // input after EOF is ignored
    if (bytes_ + data.size() > window_) {
      eof_ = true;
      result = PushResult::Overflow;
    } else {
      bytes_ += data.size();
      if (!data.empty()) chunks_.push_back(std::move(data));
      if (eof) eof_ = true;
    }
  }
  if (wake_) wake_();
  return result;
}

bool InputQueue::has_pending() const {
  std::lock_guard lock(mu_);
  return bytes_ > 0 || (eof_ && !eof_delivered_);
}

InputQueue::DrainResult InputQueue::drain(int fd) {
  std::unique_lock lock(mu_);
  while (!chunks_.empty()) {
    const auto& c = chunks_.front();
    const ssize_t n = ::write(fd, c.data() + front_offset_, c.size() - front_offset_);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return DrainResult::Partial;
      return DrainResult::Broken;
    }
    front_offset_ += static_cast<std::size_t>(n);
    bytes_ -= static_cast<std::size_t>(n);
    if (front_offset_ == c.size()) {
      chunks_.pop_front();
      front_offset_ = 0;
    }
  }
  if (eof_ && !eof_delivered_) {
    eof_delivered_ = true;
    return DrainResult::Eof;
  }
  return DrainResult::Drained;
}

void InputQueue::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  chunks_.clear();
  bytes_ = 0;
}

}  // namespace voidbox::agent
