#include "frame_writer.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "log.hpp"

namespace voidbox::agent {

FrameWriter::FrameWriter(int fd, std::size_t max_queued_bytes)
    : fd_(fd), max_queued_(max_queued_bytes), thread_([this] { loop(); }) {}

FrameWriter::~FrameWriter() {
  close();
  if (thread_.joinable()) thread_.join();
}

bool FrameWriter::send(std::vector<std::uint8_t> frame) {
  std::unique_lock lock(mu_);
  // A frame bigger than the bound still goes through once the queue is empty.
  cv_.wait(lock, [&] {
    return closed_ || queue_.empty() || queued_bytes_ + frame.size() <= max_queued_;
  });
  if (closed_) return false;
  queued_bytes_ += frame.size();
  queue_.push_back(std::move(frame));
  cv_.notify_all();
  return true;
}

void FrameWriter::flush() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return closed_ || (queue_.empty() && !writing_); });
}

void FrameWriter::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  queue_.clear();
  queued_bytes_ = 0;
  cv_.notify_all();
}

bool FrameWriter::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

void FrameWriter::loop() {
  for (;;) {
    std::vector<std::uint8_t> frame;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return closed_ || !queue_.empty(); });
      if (closed_) return;
      frame = std::move(queue_.front());
      queue_.pop_front();
      writing_ = true;
    }
    std::size_t off = 0;
    bool failed = false;
    while (off < frame.size()) {
      const ssize_t n = ::send(fd_, frame.data() + off, frame.size() - off, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        VB_LOG_DEBUG("connection write failed: errno %d", errno);
        failed = true;
        break;
      }
      off += static_cast<std::size_t>(n);
    }
    std::lock_guard lock(mu_);
    writing_ = false;
    queued_bytes_ -= frame.size();
    if (failed) {
      closed_ = true;
      queue_.clear();
      queued_bytes_ = 0;
    }
    cv_.notify_all();
    if (failed) return;
  }
}

}  // namespace voidbox::agent
