// Streamed file transfers: FileRead runs as a session (its own thread, so a
// slow host never stalls the reader); FileWrite data is written by the reader
// as FileData frames arrive.
#pragma once

#include <atomic>

#include "agent_context.hpp"
#include "frame_writer.hpp"
#include "session.hpp"

namespace voidbox::agent {

class FileReadSession : public Session {
 public:
  FileReadSession(AgentContext& ctx, FrameWriter& out, std::uint32_t id, protocol::FileRead req)
      : ctx_(ctx), out_(out), id_(id), req_(std::move(req)) {}
  void run() override;
  void on_frame(protocol::Frame& frame) override;
  void cancel() override { cancelled_ = true; }

 private:
  AgentContext& ctx_;
  FrameWriter& out_;
  std::uint32_t id_;
  protocol::FileRead req_;
  std::atomic<bool> cancelled_{false};
};

// An open FileWrite waiting for its FileData frames.
struct Upload {
  Fd fd;
  std::string path;
  std::uint64_t written = 0;
  std::uint64_t max_bytes = 0;
};

}  // namespace voidbox::agent
