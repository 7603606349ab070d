// One host connection: authenticate with Hello, then read frames and dispatch
// them. Long requests (exec, pty, file read, telemetry) run on their own
// threads so nothing queues behind a running command; short ones (stat,
// mkdir, policy, ping, file-write data) are answered by the reader directly.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>

#include "agent_context.hpp"
#include "file_transfer.hpp"
#include "frame_writer.hpp"
#include "session.hpp"

namespace voidbox::agent {

class Connection {
 public:
  Connection(AgentContext& ctx, int fd);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Serves until the peer closes, the stream breaks or Shutdown arrives.
  // Returns true when the host asked for Shutdown.
  bool serve();

 private:
  bool authenticate(protocol::Frame& f);
  void dispatch(protocol::Frame& f);
  void start_session(std::uint32_t id, std::shared_ptr<Session> s);
  void handle_file_write(protocol::Frame& f);
  void handle_file_data(protocol::Frame& f);
  void reply_ok(std::uint32_t id, const std::string& json = "{}");
  void reply_error(std::uint32_t id, protocol::ErrorCode code, const std::string& message,
                   int sys_errno = 0);
  void teardown();
  void linger_for_peer_close();

  AgentContext& ctx_;
  int fd_;
  FrameWriter writer_;
  bool authenticated_ = false;
  bool shutdown_ = false;
  std::uint32_t version_ = 0;

  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::map<std::uint32_t, std::shared_ptr<Session>> sessions_;
  std::size_t running_threads_ = 0;
  std::map<std::uint32_t, Upload> uploads_;  // reader thread only
};

}  // namespace voidbox::agent
