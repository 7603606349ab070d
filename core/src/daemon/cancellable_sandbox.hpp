// A Sandbox wrapper that lets the daemon cancel a run from another thread:
// cancel() stops every sandbox of the run (which ends its running commands)
// and makes later commands fail, so the runtime's run() returns promptly
// through its ordinary paths.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>

#include "voidbox/sandbox.hpp"

namespace voidbox::daemon {

// Shared by a run and every sandbox made for it.
class CancelToken {
 public:
  void cancel();
  bool cancelled() const { return cancelled_.load(); }
  // Blocks until cancel() was called.
  void wait_cancelled();

  // Sandboxes to stop on cancel; unregister before the sandbox dies.
  void add(Sandbox* sandbox);
  void remove(Sandbox* sandbox);

 private:
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;  // guards the wait and the flag's transition
  std::condition_variable cv_;
  std::mutex boxes_mu_;  // held while stopping, so no sandbox dies meanwhile
  std::set<Sandbox*> boxes_;
};

class CancellableSandbox final : public Sandbox {
 public:
  // `max_exec` > 0 caps every command's timeout (the policy's stage timeout).
  CancellableSandbox(std::unique_ptr<Sandbox> inner, std::shared_ptr<CancelToken> token,
                     std::chrono::milliseconds max_exec);
  ~CancellableSandbox() override;

  const SandboxInfo& info() const override { return inner_->info(); }
  const protocol::HelloAck& guest() const override { return inner_->guest(); }
  Result<std::unique_ptr<ExecSession>> start_exec(const ExecRequest& request,
                                                  ExecOutput output) override;
  Result<std::uint64_t> write_file(const std::string& path, std::span<const std::uint8_t> data,
                                   std::uint32_t mode) override {
    return inner_->write_file(path, data, mode);
  }
  Result<std::string> read_file(const std::string& path, std::uint64_t max_bytes) override {
    return inner_->read_file(path, max_bytes);
  }
  Result<protocol::StatResult> stat(const std::string& path) override { return inner_->stat(path); }
  Result<void> mkdir(const std::string& path, std::uint32_t mode) override {
    return inner_->mkdir(path, mode);
  }
  Result<std::uint32_t> set_allowlist(const std::vector<std::string>& commands) override {
    return inner_->set_allowlist(commands);
  }
  Result<void> set_limits(const protocol::Limits& limits) override {
    return inner_->set_limits(limits);
  }
  Result<void> ping() override { return inner_->ping(); }
  Result<std::unique_ptr<PtySession>> open_pty(const PtyRequest& request,
                                               OutputCallback on_output) override;
  void stop() override { inner_->stop(); }

 private:
  std::unique_ptr<Sandbox> inner_;
  std::shared_ptr<CancelToken> token_;
  std::chrono::milliseconds max_exec_;
};

}  // namespace voidbox::daemon
