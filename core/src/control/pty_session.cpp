#include "control/pty_session.hpp"

#include <algorithm>

#include "voidbox/protocol/messages.hpp"

namespace voidbox::control {
namespace {

namespace proto = voidbox::protocol;

constexpr std::size_t kKeysChunk = 64 * 1024;

}  // namespace

PtySession::PtySession(std::shared_ptr<Connection> conn, std::uint32_t id)
    : conn_(std::move(conn)), id_(id) {}

PtySession::~PtySession() {
  if (pending_ && !pending_->done()) {
    (void)conn_->send(proto::MessageType::Cancel, 0, id_, std::string_view("{}"));
    conn_->remove(id_);
    pending_->finish(ChannelError{ChannelError::Kind::closed, "terminal abandoned", std::nullopt});
  }
}

Pending::Handler PtySession::handler(voidbox::OutputCallback on_output) {
  return [state = state_, on_output = std::move(on_output)](proto::Frame& frame) -> bool {
    switch (frame.type) {
      case proto::MessageType::PtyData:
        if (on_output && !frame.payload.empty()) on_output(frame.payload);
        return false;
      case proto::MessageType::PtyOpened: {
        auto opened = proto::decode<proto::PtyOpened>(frame);
        {
          std::lock_guard lock(state->mu);
          state->opened = true;
          if (opened) state->pid = opened->pid;
        }
        state->cv.notify_all();
        return false;
      }
      case proto::MessageType::PtyExit: {
        auto exit = proto::decode<proto::ExecExit>(frame);
        std::lock_guard lock(state->mu);
        if (!exit) {
          state->malformed = "malformed PtyExit: " + exit.error().message;
          return true;
        }
        voidbox::ExecResult r;
        r.exit_code = exit->exit_code;
        r.signal = exit->signal;
        r.timed_out = exit->timed_out;
        r.error = exit->error;
        r.duration_ms = exit->duration_ms;
        r.stdout_bytes = exit->stdout_bytes;
        state->result = r;
        return true;
      }
      default:
        return false;
    }
  };
}

std::expected<void, ChannelError> PtySession::wait_opened(Clock::time_point deadline) {
  // The reader thread finishes pending_ without touching state_, so poll it
  // in short waits rather than miss its end.
  std::unique_lock lock(state_->mu);
  while (!state_->opened) {
    if (pending_->done()) break;
    if (Clock::now() >= deadline) {
      return std::unexpected(
          ChannelError{ChannelError::Kind::timeout, "the guest did not open the terminal", {}});
    }
    state_->cv.wait_until(lock, std::min(deadline, Clock::now() + std::chrono::milliseconds(20)));
  }
  if (state_->opened) return {};
  lock.unlock();
  if (auto error = pending_->error()) return std::unexpected(*error);
  return std::unexpected(
      ChannelError{ChannelError::Kind::protocol, "terminal ended before it opened", {}});
}

std::expected<void, ChannelError> PtySession::write(std::span<const std::uint8_t> keys) {
  while (!keys.empty()) {
    if (pending_ && pending_->done()) return {};  // the command ended; nobody reads it
    std::size_t n = std::min(keys.size(), kKeysChunk);
    if (auto sent = conn_->send(proto::MessageType::PtyData, 0, id_, keys.first(n)); !sent) {
      return sent;
    }
    keys = keys.subspan(n);
  }
  return {};
}

std::expected<void, ChannelError> PtySession::resize(std::uint16_t cols, std::uint16_t rows) {
  proto::PtyResize r;
  r.cols = cols;
  r.rows = rows;
  return conn_->send(proto::MessageType::PtyResize, 0, id_, proto::encode(r));
}

std::expected<void, ChannelError> PtySession::close() {
  if (pending_ && pending_->done()) return {};
  return conn_->send(proto::MessageType::PtyClose, 0, id_, std::string_view("{}"));
}

std::int64_t PtySession::pid() const {
  std::lock_guard lock(state_->mu);
  return state_->pid;
}

std::expected<voidbox::ExecResult, ChannelError> PtySession::wait(
    std::optional<Clock::time_point> deadline) {
  if (!pending_->wait_until(deadline.value_or(Clock::time_point::max()))) {
    return std::unexpected(ChannelError{
        ChannelError::Kind::timeout, "the terminal's command did not end in time", {}});
  }
  if (auto error = pending_->error()) return std::unexpected(*error);
  std::lock_guard lock(state_->mu);
  if (state_->malformed) {
    return std::unexpected(ChannelError{ChannelError::Kind::protocol, *state_->malformed, {}});
  }
  if (!state_->result) {
    return std::unexpected(
        ChannelError{ChannelError::Kind::protocol, "terminal ended without PtyExit", {}});
  }
  return *state_->result;
}

}  // namespace voidbox::control
