#include "frame_writer.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "log.hpp"

namespace voidbox::agent {
namespace {

// The guest kernel's vsock copies each send() into packets of up to 64 KiB,
// each one kmalloc'ed. 64 KiB is an order-4 ("costly") allocation, which may
// fail with ENOMEM once memory is fragmented, instead of reclaiming; 32 KiB
// is the largest size the allocator keeps trying for.
constexpr std::size_t kMaxSendChunk = 32 * 1024;
// ENOMEM/ENOBUFS from the socket are the kernel being short of memory for a
// moment: wait and retry for this long before giving the connection up.
constexpr auto kTransientErrorPatience = std::chrono::seconds(10);

}  // namespace

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
    std::chrono::steady_clock::time_point short_of_memory_since{};
    while (off < frame.size()) {
      const std::size_t chunk = std::min(frame.size() - off, kMaxSendChunk);
      const ssize_t n = ::send(fd_, frame.data() + off, chunk, MSG_NOSIGNAL);
      if (n < 0) {
        const int err = errno;
        if (err == EINTR) continue;
        if (err == ENOMEM || err == ENOBUFS) {
          const auto now = std::chrono::steady_clock::now();
          if (short_of_memory_since == std::chrono::steady_clock::time_point{}) {
            short_of_memory_since = now;
          }
          if (now - short_of_memory_since < kTransientErrorPatience) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            continue;
          }
        }
        VB_LOG_WARN("connection write failed: errno %d", err);
        failed = true;
        break;
      }
      short_of_memory_since = {};
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
