// A Sandbox that runs nothing: no VM, no process. Each command's output and
// exit status follow from its program name, and every call is recorded.
//
//   echo ARGS...   prints the args joined by spaces and a newline
//   emit CHUNKS... prints each arg as its own stdout chunk
//   cat            prints its stdin
//   fail TEXT      prints TEXT on stderr and exits 3
//   printenv NAME  prints the variable the request carries, or exits 1
//   anything else  "never ran" (exit -1 with an error)
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "voidbox/sandbox.hpp"

namespace voidbox::testing {

struct FakeLog {
  std::mutex mu;
  std::vector<SandboxConfig> created;
  std::vector<ExecRequest> execs;
  std::vector<std::optional<std::string>> stdins;
  bool stopped = false;
};

class FakeSandbox final : public Sandbox {
 public:
  FakeSandbox(std::shared_ptr<FakeLog> log, SandboxConfig config)
      : log_(std::move(log)), config_(std::move(config)) {
    info_.backend = "fake";
    info_.guest_kernel = "fake-kernel";
  }
  ~FakeSandbox() override { stop(); }

  const SandboxInfo& info() const override { return info_; }
  const protocol::HelloAck& guest() const override { return hello_; }

  Result<std::unique_ptr<ExecSession>> start_exec(const ExecRequest&, ExecOutput) override {
    return unsupported();
  }
  Result<ExecResult> exec(const ExecRequest& request, ExecOutput out,
                          std::optional<std::string> stdin_data) override {
    ExecRequest r = request;
    for (const auto& [k, v] : config_.env) r.env.emplace(k, v);
    {
      std::lock_guard lock(log_->mu);
      log_->execs.push_back(r);
      log_->stdins.push_back(stdin_data);
    }
    auto print = [](const OutputCallback& to, const std::string& text) {
      if (to) to({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
    };
    ExecResult result;
    if (r.program == "echo") {
      std::string line;
      for (const auto& a : r.args) line += (line.empty() ? "" : " ") + a;
      print(out.on_stdout, line + "\n");
    } else if (r.program == "emit") {
      for (const auto& a : r.args) print(out.on_stdout, a);
    } else if (r.program == "cat") {
      if (stdin_data) print(out.on_stdout, *stdin_data);
    } else if (r.program == "fail") {
      print(out.on_stderr, r.args.empty() ? "" : r.args.front());
      result.exit_code = 3;
    } else if (r.program == "printenv" && !r.args.empty()) {
      auto it = r.env.find(r.args.front());
      if (it == r.env.end()) {
        result.exit_code = 1;
      } else {
        print(out.on_stdout, it->second + "\n");
      }
    } else {
      result.exit_code = -1;
      result.error = "no such fake program: " + r.program;
    }
    return result;
  }
  Result<std::uint64_t> write_file(const std::string&, std::span<const std::uint8_t>,
                                   std::uint32_t) override {
    return unsupported();
  }
  Result<std::string> read_file(const std::string&, std::uint64_t) override {
    return unsupported();
  }
  Result<protocol::StatResult> stat(const std::string&) override { return unsupported(); }
  Result<void> mkdir(const std::string&, std::uint32_t) override { return unsupported(); }
  Result<std::uint32_t> set_allowlist(const std::vector<std::string>&) override {
    return unsupported();
  }
  Result<void> set_limits(const protocol::Limits&) override { return unsupported(); }
  Result<void> ping() override { return {}; }
  Result<std::unique_ptr<PtySession>> open_pty(const PtyRequest&, OutputCallback) override {
    return unsupported();
  }
  void stop() override {
    std::lock_guard lock(log_->mu);
    log_->stopped = true;
  }

 private:
  static std::unexpected<Error> unsupported() {
    return std::unexpected(Error{Error::Kind::not_supported, "not in the fake", std::nullopt});
  }

  std::shared_ptr<FakeLog> log_;
  SandboxConfig config_;
  SandboxInfo info_;
  protocol::HelloAck hello_;
};

}  // namespace voidbox::testing
