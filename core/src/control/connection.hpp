// One authenticated, multiplexed stream to a guest agent.
//
// Writers share the socket behind a mutex, each frame bounded by a send
// deadline (a stuck guest fails the connection rather than the caller hanging
// forever). One reader thread decodes frames and hands each to the pending
// request with its id. When the stream ends every pending request fails with
// `closed`; the owner (ControlChannel) opens a new Connection on the next call.
#pragma once

#include <atomic>
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
#include <thread>
#include <unordered_map>

#include "control/channel_error.hpp"
#include "voidbox/protocol/frame.hpp"
#include "voidbox/protocol/handshake.hpp"

namespace voidbox::control {

using Clock = std::chrono::steady_clock;

// A request waiting for frames. The handler runs on the reader thread and
// returns true for the frame that ends the request.
class Pending {
 public:
  using Handler = std::function<bool(protocol::Frame&)>;
  explicit Pending(Handler handler) : handler_(std::move(handler)) {}

  bool deliver(protocol::Frame& frame) { return handler_(frame); }
  void finish(std::optional<ChannelError> error);
  // False when the deadline passed first.
  bool wait_until(Clock::time_point deadline);
  bool done() const;
  std::optional<ChannelError> error() const;

 private:
  Handler handler_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::optional<ChannelError> error_;
};

class Connection {
 public:
  // Takes ownership of fd. Sends Hello and waits for HelloAck before the
  // reader starts, so nothing else can interleave with the handshake.
  static std::expected<std::shared_ptr<Connection>, ChannelError> handshake(
      int fd, const protocol::Secret& secret, Clock::time_point deadline);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  const protocol::HelloAck& hello() const { return hello_; }
  bool alive() const { return alive_.load(); }

  std::uint32_t next_id();
  // Registers before sending so no reply can arrive unclaimed.
  void add(std::uint32_t id, std::shared_ptr<Pending> pending);
  void remove(std::uint32_t id);
  std::expected<void, ChannelError> send(protocol::MessageType type, std::uint16_t flags,
                                         std::uint32_t id, std::span<const std::uint8_t> payload);
  std::expected<void, ChannelError> send(protocol::MessageType type, std::uint16_t flags,
                                         std::uint32_t id, std::string_view payload);
  // Fails every pending request and wakes the reader; bounded (join only).
  void close(const std::string& why);

 private:
  explicit Connection(int fd) : fd_(fd) {}
  void start_reader();
  void reader_loop();
  void fail_all(const ChannelError& error);

  int fd_;
  protocol::HelloAck hello_;
  std::atomic<bool> alive_{true};
  std::atomic<std::uint32_t> next_id_{1};
  std::mutex write_mu_;
  std::mutex pending_mu_;
  std::unordered_map<std::uint32_t, std::shared_ptr<Pending>> pending_;
  std::string close_reason_;
  std::thread reader_;
};

}  // namespace voidbox::control
