// The Sandbox a backend plugin provides: a VM (or the process backend's
// stand-in) plus the control channel to its guest agent.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "control/control_channel.hpp"
#include "runtime/backend_choice.hpp"
#include "runtime/state_dir.hpp"
#include "voidbox/plugin/registry.hpp"
#include "voidbox/sandbox.hpp"

namespace voidbox::runtime {

class BackendSandbox final : public voidbox::Sandbox {
 public:
  static Result<std::unique_ptr<BackendSandbox>> create(const SandboxConfig& config,
                                                        const plugin::Registry& registry,
                                                        const WarningSink& warn);
  ~BackendSandbox() override;

  const SandboxInfo& info() const override { return info_; }
  const protocol::HelloAck& guest() const override { return hello_; }

  Result<std::unique_ptr<ExecSession>> start_exec(const ExecRequest& request,
                                                  ExecOutput output) override;
  Result<std::uint64_t> write_file(const std::string& path, std::span<const std::uint8_t> data,
                                   std::uint32_t mode) override;
  Result<std::string> read_file(const std::string& path, std::uint64_t max_bytes) override;
  Result<protocol::StatResult> stat(const std::string& path) override;
  Result<void> mkdir(const std::string& path, std::uint32_t mode) override;
  Result<std::uint32_t> set_allowlist(const std::vector<std::string>& commands) override;
  Result<void> set_limits(const protocol::Limits& limits) override;
  Result<void> ping() override;
  Result<std::unique_ptr<PtySession>> open_pty(const PtyRequest& request,
                                               OutputCallback on_output) override;
  void stop() override;

 private:
  BackendSandbox(BackendChoice choice, StateDir state, std::map<std::string, std::string> env);
  // Last lines of the guest console / agent log, for error messages.
  std::string console_tail(std::size_t lines = 20) const;
  // The sandbox's env under the request's own entries.
  template <class Request>
  Request with_env(const Request& request) const;

  BackendChoice choice_;
  std::optional<StateDir> state_;
  std::map<std::string, std::string> env_;
  std::string cwd_;  // commands without their own cwd start here (the image's WorkingDir)
  SandboxInfo info_;
  std::unique_ptr<plugin::Vm> vm_;
  std::mutex vm_mu_;  // a plugin Vm is used by one thread at a time
  std::unique_ptr<control::ControlChannel> channel_;
  protocol::HelloAck hello_;
  std::int32_t stop_timeout_ms_ = 3000;
};

}  // namespace voidbox::runtime
