// Bytes from the host waiting to be written to a child (exec stdin, pty
// input). The connection's reader pushes; the session thread drains into a
// non-blocking fd when poll says it is writable. push() never blocks, so a
// child that does not read its input cannot stall the connection; at most
// `window` unconsumed bytes are held, beyond that the input is closed.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

namespace voidbox::agent {

class InputQueue {
 public:
  InputQueue(std::size_t window, std::function<void()> wake)
      : window_(window), wake_(std::move(wake)) {}

  enum class PushResult { Queued, Closed, Overflow };
  // Closed: the session is over, bytes dropped. Overflow: more than `window`
  // bytes would be pending; the chunk is dropped and EOF is delivered after
  // what is already queued.
  PushResult push(std::vector<std::uint8_t> data, bool eof);
  bool has_pending() const;  // data to write, or an EOF not yet delivered

  enum class DrainResult { Partial, Drained, Eof, Broken };
  // Writes what it can to fd without blocking. Eof: everything written and
  // the host signalled EOF (caller closes fd). Broken: write error (EPIPE).
  DrainResult drain(int fd);
  // Session over: wake and refuse pushers.
  void close();

 private:
  std::size_t window_;
  std::function<void()> wake_;
  mutable std::mutex mu_;
  std::deque<std::vector<std::uint8_t>> chunks_;
  std::size_t front_offset_ = 0;
  std::size_t bytes_ = 0;
  bool eof_ = false;
  bool eof_delivered_ = false;
  bool closed_ = false;
};

}  // namespace voidbox::agent
