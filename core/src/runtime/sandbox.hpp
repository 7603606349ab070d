// A running sandbox: a VM (or a process-backend stand-in) plus the control
// channel to its guest agent.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "control/control_channel.hpp"
#include "runtime/backend_choice.hpp"
#include "runtime/state_dir.hpp"
#include "voidbox/plugin/registry.hpp"
#include "voidbox/spec.hpp"

namespace voidbox::runtime {

struct SandboxConfig {
  std::string name = "voidbox";
  std::string backend = "auto";  // --backend: auto, kvm, process, or another plugin's name
  spec::SandboxMode mode = spec::SandboxMode::auto_;
  std::optional<std::string> kernel;
  std::optional<std::string> initramfs;
  std::uint32_t memory_mb = 1024;
  std::uint32_t vcpus = 1;
  bool network = false;
  std::chrono::milliseconds connect_deadline{30000};
};

// Called with each warning (e.g. "falling back to the process backend").
using WarningSink = std::function<void(const std::string&)>;

class Sandbox {
 public:
  // Picks the backend, creates and starts the VM, and connects to its guest
  // agent (so a sandbox that returns is ready for exec).
  static std::expected<std::unique_ptr<Sandbox>, std::string> create(
      const SandboxConfig& config, const plugin::Registry& registry, const WarningSink& warn);

  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;
  // Closes the channel, stops the VM (bounded), removes the state dir.
  ~Sandbox();

  control::ControlChannel& channel() { return *channel_; }
  const BackendChoice& choice() const { return choice_; }
  const protocol::HelloAck& guest() const { return hello_; }
  const std::filesystem::path& state_dir() const { return state_.path(); }
  // Last lines of the guest console / agent log, for error messages.
  std::string console_tail(std::size_t lines = 20) const;

 private:
  Sandbox(BackendChoice choice, StateDir state)
      : choice_(std::move(choice)), state_(std::move(state)) {}

  BackendChoice choice_;
  StateDir state_;
  std::unique_ptr<plugin::Vm> vm_;
  std::mutex vm_mu_;  // a plugin Vm is used by one thread at a time
  std::unique_ptr<control::ControlChannel> channel_;
  protocol::HelloAck hello_;
};

}  // namespace voidbox::runtime
