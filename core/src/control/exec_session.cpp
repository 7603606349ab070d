#include "control/exec_session.hpp"

#include <algorithm>

#include "voidbox/protocol/messages.hpp"

namespace voidbox::control {
namespace {

namespace proto = voidbox::protocol;

// How long past its own timeout the guest gets to report an exec's end.
constexpr std::chrono::seconds kTimeoutGrace{15};
constexpr std::size_t kStdinChunk = 256 * 1024;

}  // namespace

ExecSession::ExecSession(std::shared_ptr<Connection> conn, std::uint32_t id,
                         std::chrono::milliseconds guest_timeout)
    : conn_(std::move(conn)), id_(id), guest_timeout_(guest_timeout) {}

ExecSession::~ExecSession() {
  if (pending_ && !pending_->done()) {
    (void)conn_->send(proto::MessageType::Cancel, 0, id_, std::string_view("{}"));
    conn_->remove(id_);
    pending_->finish(ChannelError{ChannelError::Kind::closed, "exec abandoned", std::nullopt});
  }
}

Pending::Handler ExecSession::handler(ExecOutput output) {
  return [state = state_, output = std::move(output)](proto::Frame& frame) -> bool {
    switch (frame.type) {
      case proto::MessageType::ExecOutput: {
        if (frame.payload.empty()) return false;
        std::span<const std::uint8_t> chunk(frame.payload.data() + 1, frame.payload.size() - 1);
        auto stream = static_cast<proto::OutputStream>(frame.payload[0]);
        if (stream == proto::OutputStream::Stdout) {
          if (output.on_stdout) output.on_stdout(chunk);
        } else if (stream == proto::OutputStream::Stderr) {
          if (output.on_stderr) output.on_stderr(chunk);
        }
        return false;
      }
      case proto::MessageType::ExecStarted: {
        if (auto started = proto::decode<proto::ExecStarted>(frame)) {
          std::lock_guard lock(state->mu);
          state->pid = started->pid;
        }
        return false;
      }
      case proto::MessageType::ExecExit: {
        auto exit = proto::decode<proto::ExecExit>(frame);
        std::lock_guard lock(state->mu);
        if (!exit) {
          state->malformed = "malformed ExecExit: " + exit.error().message;
          return true;
        }
        ExecResult r;
        r.exit_code = exit->exit_code;
        r.signal = exit->signal;
        r.timed_out = exit->timed_out;
        r.error = exit->error;
        r.duration_ms = exit->duration_ms;
        r.stdout_bytes = exit->stdout_bytes;
        r.stderr_bytes = exit->stderr_bytes;
        state->result = r;
        return true;
      }
      default:
        return false;
    }
  };
}

std::expected<void, ChannelError> ExecSession::write_stdin(std::span<const std::uint8_t> bytes) {
  if (stdin_closed_) {
    return std::unexpected(ChannelError{ChannelError::Kind::closed, "stdin already closed", {}});
  }
  while (!bytes.empty()) {
    if (pending_ && pending_->done()) return {};  // the command ended; nobody reads it
    std::size_t n = std::min(bytes.size(), kStdinChunk);
    if (auto sent = conn_->send(proto::MessageType::ExecStdin, 0, id_, bytes.first(n)); !sent) {
      return sent;
    }
    bytes = bytes.subspan(n);
  }
  return {};
}

std::expected<void, ChannelError> ExecSession::close_stdin() {
  if (stdin_closed_) return {};
  stdin_closed_ = true;
  if (pending_ && pending_->done()) return {};
  return conn_->send(proto::MessageType::ExecStdin, proto::kFlagEnd, id_, std::string_view());
}

std::expected<void, ChannelError> ExecSession::kill(int signal) {
  proto::ExecKill k;
  k.signal = signal;
  return conn_->send(proto::MessageType::ExecKill, 0, id_, proto::encode(k));
}

std::int64_t ExecSession::pid() const {
  std::lock_guard lock(state_->mu);
  return state_->pid;
}

std::expected<ExecResult, ChannelError> ExecSession::wait(
    std::optional<Clock::time_point> deadline) {
  Clock::time_point until = Clock::time_point::max();
  if (deadline) {
    until = *deadline;
  } else if (guest_timeout_.count() > 0) {
    until = Clock::now() + guest_timeout_ + kTimeoutGrace;
  }
  if (!pending_->wait_until(until)) {
    (void)conn_->send(proto::MessageType::Cancel, 0, id_, std::string_view("{}"));
    conn_->remove(id_);
    pending_->finish(ChannelError{ChannelError::Kind::timeout, "exec deadline passed", {}});
    return std::unexpected(ChannelError{ChannelError::Kind::timeout,
                                        "the guest did not report the end of the command in time",
                                        {}});
  }
  if (auto error = pending_->error()) return std::unexpected(*error);
  std::lock_guard lock(state_->mu);
  if (state_->malformed) {
    return std::unexpected(ChannelError{ChannelError::Kind::protocol, *state_->malformed, {}});
  }
  if (!state_->result) {
    return std::unexpected(
        ChannelError{ChannelError::Kind::protocol, "exec ended without ExecExit", {}});
  }
  return *state_->result;
}

}  // namespace voidbox::control
