// A Sandbox that runs nothing: no VM, no process. Each command's output and
// exit status follow from its program name, and every call is recorded.
//
//   echo ARGS...   prints the args joined by spaces and a newline
//   emit CHUNKS... prints each arg as its own stdout chunk
//   cat            prints its stdin
//   fail TEXT      prints TEXT on stderr and exits 3
//   printenv NAME  prints the variable the request carries, or exits 1
//   a program in FakeLog::scripted (as "<sandbox name>:<program>", else as
//   "<program>"): its chunks, exit code and timeout
//   anything else  "never ran" (exit -1 with an error)
// Files written are kept in FakeLog::files (and read back from there); the
// allowlist and limits are recorded.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "voidbox/runtime.hpp"
#include "voidbox/sandbox.hpp"

namespace voidbox::testing {

struct ScriptedProgram {
  std::vector<std::string> stdout_chunks;
  std::string stderr_text;
  int exit_code = 0;
  bool timed_out = false;
  // Written into FakeLog::files when it runs (what the program "wrote").
  std::map<std::string, std::string> writes;
};

struct FakeLog {
  std::mutex mu;
  std::map<std::string, ScriptedProgram> scripted;  // by program, as requested
  std::map<std::string, std::string> files;
  std::vector<std::string> file_order;  // paths in the order they were written
  std::vector<std::string> allowlist;
  std::optional<protocol::Limits> limits;
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
    std::optional<ScriptedProgram> scripted;
    {
      std::lock_guard lock(log_->mu);
      auto it = log_->scripted.find(config_.name + ":" + r.program);
      if (it == log_->scripted.end()) it = log_->scripted.find(r.program);
      if (it != log_->scripted.end()) {
        scripted = it->second;
        for (const auto& [path, text] : scripted->writes) log_->files[path] = text;
      }
    }
    if (scripted) {
      for (const auto& c : scripted->stdout_chunks) print(out.on_stdout, c);
      print(out.on_stderr, scripted->stderr_text);
      result.exit_code = scripted->exit_code;
      result.timed_out = scripted->timed_out;
    } else if (r.program == "echo") {
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
  Result<std::uint64_t> write_file(const std::string& path, std::span<const std::uint8_t> data,
                                   std::uint32_t) override {
    std::lock_guard lock(log_->mu);
    log_->files[path].assign(reinterpret_cast<const char*>(data.data()), data.size());
    log_->file_order.push_back(path);
    return data.size();
  }
  Result<std::string> read_file(const std::string& path, std::uint64_t) override {
    std::lock_guard lock(log_->mu);
    auto it = log_->files.find(path);
    if (it == log_->files.end()) {
      return std::unexpected(Error{Error::Kind::guest, "no such file: " + path, std::nullopt});
    }
    return it->second;
  }
  Result<protocol::StatResult> stat(const std::string&) override { return unsupported(); }
  Result<void> mkdir(const std::string&, std::uint32_t) override { return unsupported(); }
  Result<std::uint32_t> set_allowlist(const std::vector<std::string>& commands) override {
    std::lock_guard lock(log_->mu);
    log_->allowlist = commands;
    return static_cast<std::uint32_t>(commands.size());
  }
  Result<void> set_limits(const protocol::Limits& limits) override {
    std::lock_guard lock(log_->mu);
    log_->limits = limits;
    return {};
  }
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

// A runtime whose sandboxes are fakes sharing one log; `warn` is what the
// factory reports as the backend's warning, if anything.
struct FakeRuntime {
  std::shared_ptr<FakeLog> log = std::make_shared<FakeLog>();
  std::optional<Error> refuse;
  std::string backend_warning;
  Runtime runtime;

  explicit FakeRuntime(RuntimeOptions options = {}) : runtime(with_factory(std::move(options))) {}

 private:
  RuntimeOptions with_factory(RuntimeOptions options) {
    options.sandbox_factory = [this](const SandboxConfig& config,
                                     const WarningSink& warn) -> Result<std::unique_ptr<Sandbox>> {
      {
        std::lock_guard lock(log->mu);
        log->created.push_back(config);
      }
      if (!backend_warning.empty() && warn) warn(backend_warning);
      if (refuse) return std::unexpected(*refuse);
      return std::make_unique<FakeSandbox>(log, config);
    };
    return options;
  }
};

}  // namespace voidbox::testing
