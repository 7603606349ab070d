// One ExecStart: spawn, stream stdout/stderr as they arrive, forward stdin,
// enforce the timeout on the whole process group, report ExecExit.
#pragma once

#include <atomic>
#include <memory>

#include "agent_context.hpp"
#include "child_process.hpp"
#include "frame_writer.hpp"
#include "input_queue.hpp"
#include "session.hpp"

namespace voidbox::agent {

class ExecSession : public Session, public std::enable_shared_from_this<ExecSession> {
 public:
  ExecSession(AgentContext& ctx, FrameWriter& out, std::uint32_t id, protocol::ExecStart req);
  void run() override;
  void on_frame(protocol::Frame& frame) override;
  void cancel() override;

 private:
  bool start(int& out_r, int& err_r, int& in_w);
  void pump(int out_r, int err_r, int in_w);
  void send_error(protocol::ErrorCode code, const std::string& message);

  AgentContext& ctx_;
  FrameWriter& out_;
  std::uint32_t id_;
  protocol::ExecStart req_;
  std::shared_ptr<ChildState> child_;
  InputQueue stdin_;
  std::atomic<bool> timed_out_{false};
  std::atomic<bool> cancelled_{false};
};

}  // namespace voidbox::agent
