// Serialized, bounded writes to one connection. Any thread may send(); a
// single writer thread drains the queue to the socket in order. When more
// than max_queued bytes are waiting, send() blocks (backpressure reaches the
// exec's pipes and so the child) instead of growing memory.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace voidbox::agent {

class FrameWriter {
 public:
  FrameWriter(int fd, std::size_t max_queued_bytes);
  ~FrameWriter();
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;

  // False once the connection is closed or failed; the frame is dropped.
  bool send(std::vector<std::uint8_t> frame);
  // Waits until everything queued so far was written (or the writer failed).
  void flush();
  // Stops accepting frames, wakes blocked senders; queued frames are dropped.
  void close();
  bool closed() const;

 private:
  void loop();

  int fd_;
  std::size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<std::uint8_t>> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closed_ = false;
  std::thread thread_;
};

}  // namespace voidbox::agent
