// One "VM" of the process backend: the guest agent as a confined local child,
// serving the control protocol on a Unix socket in the VM's state dir.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <expected>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "voidbox/plugin_abi.h"

namespace voidbox::process_backend {

struct ProcessVmConfig {
  std::string name = "voidbox";
  std::string state_dir;
  std::vector<std::string> guest_args;
  std::string serial_log;  // agent stdout/stderr; default <state_dir>/agent.log
};

std::expected<ProcessVmConfig, std::string> parse_config(std::string_view json);

// The socket the agent listens on for vsock port `port`.
std::string socket_path_for_port(const std::string& state_dir, std::uint32_t port);

class ProcessVm {
 public:
  explicit ProcessVm(ProcessVmConfig config) : config_(std::move(config)) {}
  ProcessVm(const ProcessVm&) = delete;
  ProcessVm& operator=(const ProcessVm&) = delete;
  ~ProcessVm();

  std::expected<void, std::string> start();
  std::expected<int, std::string> connect(std::uint32_t port);
  vb_exit_info wait(std::int32_t timeout_ms);
  void stop(std::int32_t timeout_ms);

  // Which namespaces were used and, if fewer than asked, why; for the log.
  const std::string& confinement_note() const { return note_; }

 private:
  void reap_locked(std::int32_t timeout_ms);

  ProcessVmConfig config_;
  std::mutex mu_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool pid_namespace_ = false;
  bool exited_ = false;
  bool killed_ = false;
  int wait_status_ = 0;
  std::string note_;
};

}  // namespace voidbox::process_backend
