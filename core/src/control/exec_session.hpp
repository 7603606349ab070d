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
#include "voidbox/sandbox.hpp"

namespace voidbox::control {

using ExecRequest = voidbox::ExecRequest;
using OutputCallback = voidbox::OutputCallback;
using ExecOutput = voidbox::ExecOutput;
using ExecResult = voidbox::ExecResult;

class ExecSession final : public voidbox::ExecSession {
 public:
  ExecSession(std::shared_ptr<Connection> conn, std::uint32_t id,
              std::chrono::milliseconds guest_timeout);
  ExecSession(const ExecSession&) = delete;
  ExecSession& operator=(const ExecSession&) = delete;
  // Cancels the command in the guest if it is still running.
  ~ExecSession() override;

  // The reader-thread handler for this exec's frames.
  Pending::Handler handler(ExecOutput output);
  void attach(std::shared_ptr<Pending> pending) { pending_ = std::move(pending); }

  std::expected<void, ChannelError> write_stdin(std::span<const std::uint8_t> bytes) override;
  std::expected<void, ChannelError> close_stdin() override;
  std::expected<void, ChannelError> kill(int signal = 9) override;
  // Waits for ExecExit. Without a deadline: the guest timeout plus a grace
  // period, or for as long as the connection lives when there is none.
  std::expected<ExecResult, ChannelError> wait(
      std::optional<Clock::time_point> deadline = {}) override;
  std::int64_t pid() const override;

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
