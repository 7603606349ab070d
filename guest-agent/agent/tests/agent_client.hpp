// Test harness: runs the real agent binary in process mode and talks to it
// over its Unix socket with the protocol codec.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "voidbox/protocol/handshake.hpp"

namespace voidbox::agent::test {

inline const std::string kTestSecret(64, 'c');

class AgentProcess {
 public:
  // Starts the agent with its root in a fresh temp dir; waits until it listens.
  explicit AgentProcess(const std::string& secret_hex = kTestSecret,
                        std::vector<std::string> extra_args = {});
  ~AgentProcess();
  const std::filesystem::path& root() const { return root_; }
  const std::string& socket_path() const { return socket_; }
  pid_t pid() const { return pid_; }

 private:
  std::filesystem::path root_;
  std::string socket_;
  pid_t pid_ = -1;
};

class Client {
 public:
  explicit Client(const std::string& socket_path);
  ~Client();
  bool connected() const { return fd_ >= 0; }

  void send(const std::vector<std::uint8_t>& frame);
  // Next frame, or nullopt on timeout / EOF.
  std::optional<protocol::Frame> recv(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Next frame for request id (others are kept for later calls).
  std::optional<protocol::Frame> recv_for(
      std::uint32_t id, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool peer_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Sends Hello and returns the HelloAck (or the Error frame's message).
  std::optional<protocol::HelloAck> hello(const std::string& secret_hex = kTestSecret,
                                          std::string* error = nullptr);

  struct ExecResult {
    std::string out, err;
    protocol::ExecExit exit;
    std::optional<protocol::ErrorInfo> error;
    std::vector<std::string> out_chunks;
  };
  // Runs ExecStart to completion and collects everything for that id.
  ExecResult exec(std::uint32_t id, const protocol::ExecStart& req,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20));
  ExecResult collect_exec(std::uint32_t id,
                          std::chrono::milliseconds timeout = std::chrono::seconds(20));

 private:
  int fd_ = -1;
  protocol::FrameDecoder decoder_;
  std::vector<protocol::Frame> stash_;
};

}  // namespace voidbox::agent::test
