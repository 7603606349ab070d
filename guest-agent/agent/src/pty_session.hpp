// One PtyOpen: a command on a new pseudo-terminal; PtyData both ways,
// PtyResize via TIOCSWINSZ, PtyClose hangs up, PtyExit reports the status.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "agent_context.hpp"
#include "child_process.hpp"
#include "frame_writer.hpp"
#include "input_queue.hpp"
#include "session.hpp"

namespace voidbox::agent {

class PtySession : public Session {
 public:
  PtySession(AgentContext& ctx, FrameWriter& out, std::uint32_t id, protocol::PtyOpen req);
  void run() override;
  void on_frame(protocol::Frame& frame) override;
  void cancel() override;

 private:
  bool start();
  void pump();
  void resize(std::uint16_t cols, std::uint16_t rows);

  AgentContext& ctx_;
  FrameWriter& out_;
  std::uint32_t id_;
  protocol::PtyOpen req_;
  std::shared_ptr<ChildState> child_;
  InputQueue input_;
  std::mutex master_mu_;
  int master_ = -1;
};

}  // namespace voidbox::agent
