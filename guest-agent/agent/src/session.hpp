// A request that outlives its first frame (exec, pty, file read, telemetry).
// The connection's reader routes follow-up frames to it; its own thread runs
// it to completion and sends the terminal frame.
#pragma once

#include "voidbox/protocol/frame.hpp"

namespace voidbox::agent {

class Session {
 public:
  virtual ~Session() = default;
  // On the session's own thread; returns when the request is finished.
  virtual void run() = 0;
  // On the reader thread: a frame with this session's request id.
  virtual void on_frame(protocol::Frame& frame) = 0;
  // Host asked to stop (Cancel) or the connection is going away.
  virtual void cancel() = 0;
};

}  // namespace voidbox::agent
