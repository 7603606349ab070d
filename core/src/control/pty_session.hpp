// One command on a guest pseudo-terminal: its output arrives through a
// callback on the channel's reader thread, keys and resizes are sent from
// the caller's thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "control/channel_error.hpp"
#include "control/connection.hpp"
#include "voidbox/sandbox.hpp"

namespace voidbox::control {

class PtySession final : public voidbox::PtySession {
 public:
  PtySession(std::shared_ptr<Connection> conn, std::uint32_t id);
  PtySession(const PtySession&) = delete;
  PtySession& operator=(const PtySession&) = delete;
  // Hangs the terminal up if its command still runs.
  ~PtySession() override;

  // The reader-thread handler for this terminal's frames.
  Pending::Handler handler(voidbox::OutputCallback on_output);
  void attach(std::shared_ptr<Pending> pending) { pending_ = std::move(pending); }
  // Until the guest says the terminal is open (keys, resizes and hang-ups
  // sent before that would find no terminal), or why it did not open.
  std::expected<void, ChannelError> wait_opened(Clock::time_point deadline);

  std::expected<void, ChannelError> write(std::span<const std::uint8_t> keys) override;
  std::expected<void, ChannelError> resize(std::uint16_t cols, std::uint16_t rows) override;
  std::expected<void, ChannelError> close() override;
  // Without a deadline: for as long as the connection lives.
  std::expected<voidbox::ExecResult, ChannelError> wait(
      std::optional<Clock::time_point> deadline = {}) override;
  std::int64_t pid() const override;

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool opened = false;
    std::int64_t pid = 0;
    std::optional<voidbox::ExecResult> result;
    std::optional<std::string> malformed;
  };

  std::shared_ptr<Connection> conn_;
  std::uint32_t id_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::shared_ptr<Pending> pending_;
};

}  // namespace voidbox::control
