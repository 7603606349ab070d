// One running command in the guest: its output arrives through callbacks on
// the channel's reader thread (keep them short: they hold up every other
// reply on the connection), its stdin is fed from the caller's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "control/channel_error.hpp"
#include "control/connection.hpp"

namespace voidbox::control {

struct ExecRequest {
  std::string program;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string cwd;                       // empty: the guest's default (/workspace)
  std::chrono::milliseconds timeout{0};  // 0: none; enforced in the guest (process group kill)
  bool stdin_open = false;               // false: the command reads /dev/null
};

using OutputCallback = std::function<void(std::span<const std::uint8_t>)>;

struct ExecOutput {
  OutputCallback on_stdout;  // may be empty: output discarded
  OutputCallback on_stderr;
};

struct ExecResult {
  int exit_code = 0;  // the exit status, 128+signal if signalled, -1 if it never ran
  int signal = 0;
  bool timed_out = false;
  std::string error;  // why it never ran
  std::uint64_t duration_ms = 0;
  std::uint64_t stdout_bytes = 0;
  std::uint64_t stderr_bytes = 0;
};

class ExecSession {
 public:
  ExecSession(std::shared_ptr<Connection> conn, std::uint32_t id,
              std::chrono::milliseconds guest_timeout);
  ExecSession(const ExecSession&) = delete;
  ExecSession& operator=(const ExecSession&) = delete;
  // Cancels the command in the guest if it is still running.
  ~ExecSession();

  // The reader-thread handler for this exec's frames.
  Pending::Handler handler(ExecOutput output);
  void attach(std::shared_ptr<Pending> pending) { pending_ = std::move(pending); }

  std::expected<void, ChannelError> write_stdin(std::span<const std::uint8_t> bytes);
  std::expected<void, ChannelError> close_stdin();
  std::expected<void, ChannelError> kill(int signal = 9);
  // Waits for ExecExit. Without a deadline: the guest timeout plus a grace
  // period, or for as long as the connection lives when there is none.
  std::expected<ExecResult, ChannelError> wait(std::optional<Clock::time_point> deadline = {});
  std::int64_t pid() const;

 private:
  struct State {
    std::mutex mu;
    std::int64_t pid = 0;
    std::optional<ExecResult> result;
    std::optional<std::string> malformed;
  };

  std::shared_ptr<Connection> conn_;
  std::uint32_t id_;
  std::chrono::milliseconds guest_timeout_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::shared_ptr<Pending> pending_;
  bool stdin_closed_ = false;
};

}  // namespace voidbox::control
