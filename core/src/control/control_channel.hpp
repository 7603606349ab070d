// The host end of the guest-agent protocol for one VM.
//
// Lazy: nothing is dialled until the first call. Connecting retries with a
// bounded exponential backoff until a deadline (the guest may still be
// booting), then authenticates with the VM's secret. All calls share one
// multiplexed connection; if it dies, in-flight calls fail with `closed` and
// the next call reconnects. Every call has a deadline; close() is bounded.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "control/channel_error.hpp"
#include "control/connection.hpp"
#include "control/exec_session.hpp"
#include "control/pty_session.hpp"
#include "voidbox/protocol/handshake.hpp"
#include "voidbox/protocol/messages.hpp"

namespace voidbox::control {

// Opens a fresh stream to the guest agent's port (the backend's connect()).
using Connector = std::function<std::expected<int, std::string>()>;
// Returns why the guest can no longer answer (VM exited), or nullopt; lets
// the connect loop give up at once instead of at its deadline.
using LivenessCheck = std::function<std::optional<std::string>()>;

struct ChannelOptions {
  protocol::Secret secret{};
  std::chrono::milliseconds connect_deadline{30000};
  std::chrono::milliseconds backoff_initial{1};
  std::chrono::milliseconds backoff_max{100};
  std::chrono::milliseconds rpc_timeout{30000};  // file, stat, policy calls
};

class TelemetrySubscription;

class ControlChannel {
 public:
  ControlChannel(Connector connector, ChannelOptions options, LivenessCheck liveness = {});
  ControlChannel(const ControlChannel&) = delete;
  ControlChannel& operator=(const ControlChannel&) = delete;
  ~ControlChannel();

  // Connects and authenticates if not connected; returns the guest's HelloAck.
  std::expected<protocol::HelloAck, ChannelError> connect();

  std::expected<std::unique_ptr<ExecSession>, ChannelError> start_exec(const ExecRequest& request,
                                                                       ExecOutput output);
  // Runs to completion; `stdin_data` (if any) is sent and then closed.
  std::expected<ExecResult, ChannelError> exec(const ExecRequest& request, ExecOutput output,
                                               std::optional<std::string> stdin_data = {});

  std::expected<std::unique_ptr<PtySession>, ChannelError> open_pty(
      const voidbox::PtyRequest& request, OutputCallback on_output);

  std::expected<std::uint64_t, ChannelError> write_file(const std::string& path,
                                                        std::span<const std::uint8_t> data,
                                                        std::uint32_t mode = 0644);
  std::expected<std::string, ChannelError> read_file(const std::string& path,
                                                     std::uint64_t max_bytes = 64u << 20);
  std::expected<protocol::StatResult, ChannelError> stat(const std::string& path);
  std::expected<void, ChannelError> mkdir(const std::string& path, std::uint32_t mode = 0755);
  std::expected<std::uint32_t, ChannelError> set_allowlist(const std::vector<std::string>& cmds);
  std::expected<void, ChannelError> set_limits(const protocol::Limits& limits);
  std::expected<void, ChannelError> ping();
  std::expected<std::unique_ptr<TelemetrySubscription>, ChannelError> subscribe_telemetry(
      std::chrono::milliseconds interval, std::function<void(const protocol::TelemetrySample&)> cb);

  // Fails in-flight calls, stops any connect attempt, joins the reader.
  void close();

 private:
  std::expected<std::shared_ptr<Connection>, ChannelError> connection();
  std::expected<std::shared_ptr<Connection>, ChannelError> dial();
  // Sends one request frame and waits for the frame that ends it.
  std::expected<protocol::Frame, ChannelError> call(protocol::MessageType type,
                                                    std::string_view payload);

  Connector connector_;
  ChannelOptions options_;
  LivenessCheck liveness_;
  std::mutex mu_;  // serialises connecting
  std::shared_ptr<Connection> conn_;
  std::mutex abort_mu_;
  std::condition_variable abort_cv_;
  bool closing_ = false;
};

class TelemetrySubscription {
 public:
  TelemetrySubscription(std::shared_ptr<Connection> conn, std::uint32_t id,
                        std::shared_ptr<Pending> pending)
      : conn_(std::move(conn)), id_(id), pending_(std::move(pending)) {}
  ~TelemetrySubscription() { cancel(); }
  void cancel();

 private:
  std::shared_ptr<Connection> conn_;
  std::uint32_t id_;
  std::shared_ptr<Pending> pending_;
};

}  // namespace voidbox::control
