#include "control/connection.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "voidbox/protocol/messages.hpp"

namespace voidbox::control {
namespace {

namespace proto = voidbox::protocol;

// A guest that cannot take one frame in this long is stuck; the connection is
// failed rather than the caller blocked forever.
constexpr int kSendTimeoutSeconds = 30;
constexpr std::size_t kReadBuffer = 256 * 1024;

ChannelError make_error(ChannelError::Kind kind, std::string message) {
  return ChannelError{kind, std::move(message), std::nullopt};
}

ChannelError guest_error(const proto::Frame& frame) {
  auto info = proto::decode<proto::ErrorInfo>(frame);
  if (!info) return make_error(ChannelError::Kind::protocol, "malformed Error frame from guest");
  ChannelError e{ChannelError::Kind::guest, info->message, info->code};
  if (e.message.empty()) e.message = std::string(proto::to_string(info->code));
  return e;
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 1 << 30));
}

}  // namespace

void Pending::finish(std::optional<ChannelError> error) {
  {
    std::lock_guard lock(mu_);
    if (done_) return;
    done_ = true;
    error_ = std::move(error);
  }
  cv_.notify_all();
}

bool Pending::wait_until(Clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return cv_.wait_until(lock, deadline, [&] { return done_; });
}

bool Pending::done() const {
  std::lock_guard lock(mu_);
  return done_;
}

std::optional<ChannelError> Pending::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

std::expected<std::shared_ptr<Connection>, ChannelError> Connection::handshake(
    int fd, const proto::Secret& secret, Clock::time_point deadline) {
  std::shared_ptr<Connection> conn(new Connection(fd));
  timeval tv{kSendTimeoutSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

  proto::Hello hello;
  hello.secret_hex = proto::secret_to_hex(secret);
  hello.features = {std::string(proto::kFeatureExec),  std::string(proto::kFeatureStdin),
                    std::string(proto::kFeatureFiles), std::string(proto::kFeatureTelemetry),
                    std::string(proto::kFeaturePty),   std::string(proto::kFeaturePolicy)};
  if (auto sent = conn->send(proto::MessageType::Hello, 0, 0, proto::encode(hello)); !sent) {
    return std::unexpected(sent.error());
  }

  proto::FrameDecoder decoder(proto::kMaxHello);
  std::vector<std::uint8_t> buf(4096);
  while (!decoder.has_frame()) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0)
      return std::unexpected(
          make_error(ChannelError::Kind::timeout, "no handshake reply from the guest agent"));
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return std::unexpected(
          make_error(ChannelError::Kind::closed,
                     n == 0 ? "guest closed the connection during the handshake"
                            : std::string("handshake read failed: ") + std::strerror(errno)));
    }
    // Read only as much as we asked for: the guest sends nothing unsolicited
    // after HelloAck, so this never swallows a later frame.
    if (auto fed = decoder.feed({buf.data(), static_cast<std::size_t>(n)}); !fed) {
      return std::unexpected(
          make_error(ChannelError::Kind::protocol, "bad handshake reply: " + fed.error().message));
    }
  }
  proto::Frame reply = decoder.pop();
  if (reply.type == proto::MessageType::Error) {
    ChannelError e = guest_error(reply);
    if (e.guest_code == proto::ErrorCode::Unauthorized) {
      e.kind = ChannelError::Kind::auth;
      e.message = "guest agent refused the VM secret: " + e.message;
    } else if (e.guest_code == proto::ErrorCode::UnsupportedVersion) {
      e.kind = ChannelError::Kind::version;
    }
    return std::unexpected(e);
  }
  if (reply.type != proto::MessageType::HelloAck) {
    return std::unexpected(
        make_error(ChannelError::Kind::protocol,
                   "expected HelloAck, got " + std::string(proto::to_string(reply.type))));
  }
  auto ack = proto::decode<proto::HelloAck>(reply);
  if (!ack) {
    return std::unexpected(
        make_error(ChannelError::Kind::protocol, "malformed HelloAck: " + ack.error().message));
  }
  if (ack->version < proto::kMinVersion || ack->version > proto::kMaxVersion) {
    return std::unexpected(make_error(
        ChannelError::Kind::version,
        "guest chose protocol version " + std::to_string(ack->version) + "; this host speaks " +
            std::to_string(proto::kMinVersion) + ".." + std::to_string(proto::kMaxVersion)));
  }
  conn->hello_ = std::move(*ack);
  if (decoder.pending_bytes() != 0 || decoder.has_frame()) {
    return std::unexpected(
        make_error(ChannelError::Kind::protocol, "unexpected bytes after HelloAck"));
  }
  conn->start_reader();
  return conn;
}

Connection::~Connection() {
  close("control channel closed");
  ::close(fd_);
}

std::uint32_t Connection::next_id() {
  std::uint32_t id = next_id_.fetch_add(1);
  if (id == 0) id = next_id_.fetch_add(1);
  return id;
}

void Connection::add(std::uint32_t id, std::shared_ptr<Pending> pending) {
  std::lock_guard lock(pending_mu_);
  pending_[id] = std::move(pending);
}

void Connection::remove(std::uint32_t id) {
  std::lock_guard lock(pending_mu_);
  pending_.erase(id);
}

std::expected<void, ChannelError> Connection::send(proto::MessageType type, std::uint16_t flags,
                                                   std::uint32_t id, std::string_view payload) {
  return send(type, flags, id,
              {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()});
}

std::expected<void, ChannelError> Connection::send(proto::MessageType type, std::uint16_t flags,
                                                   std::uint32_t id,
                                                   std::span<const std::uint8_t> payload) {
  auto header = proto::encode_header(type, flags, id, static_cast<std::uint32_t>(payload.size()));
  std::lock_guard lock(write_mu_);
  if (!alive_) return std::unexpected(make_error(ChannelError::Kind::closed, close_reason_));
  iovec iov[2] = {{header.data(), header.size()},
                  {const_cast<std::uint8_t*>(payload.data()), payload.size()}};
  int first = 0;
  const int count = payload.empty() ? 1 : 2;
  while (first < count) {
    msghdr msg{};
    msg.msg_iov = &iov[first];
    msg.msg_iovlen = static_cast<std::size_t>(count - first);
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      bool stuck = errno == EAGAIN || errno == EWOULDBLOCK;
      std::string why =
          stuck ? "guest stopped reading the control connection"
                : std::string("control connection write failed: ") + std::strerror(errno);
      // A partly written frame leaves the stream out of sync: end it.
      alive_ = false;
      ::shutdown(fd_, SHUT_RDWR);
      return std::unexpected(
          make_error(stuck ? ChannelError::Kind::timeout : ChannelError::Kind::closed, why));
    }
    auto left = static_cast<std::size_t>(n);
    while (first < count && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      ++first;
    }
    if (first < count) {
      iov[first].iov_base = static_cast<std::uint8_t*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return {};
}

void Connection::start_reader() {
  reader_ = std::thread([this] { reader_loop(); });
}

void Connection::reader_loop() {
  proto::FrameDecoder decoder;
  std::vector<std::uint8_t> buf(kReadBuffer);
  std::string why;
  ChannelError::Kind kind = ChannelError::Kind::closed;
  for (;;) {
    ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      why = n == 0 ? "the guest agent closed the control connection"
                   : std::string("control connection read failed: ") + std::strerror(errno);
      break;
    }
    if (auto fed = decoder.feed({buf.data(), static_cast<std::size_t>(n)}); !fed) {
      kind = ChannelError::Kind::protocol;
      why = "malformed frame from the guest: " + fed.error().message;
      break;
    }
    bool fatal = false;
    while (decoder.has_frame()) {
      proto::Frame frame = decoder.pop();
      if (frame.request_id == 0 && frame.type == proto::MessageType::Error) {
        ChannelError e = guest_error(frame);
        kind = e.kind;
        why = "guest agent closed the connection: " + e.message;
        fatal = true;
        break;
      }
      std::shared_ptr<Pending> pending;
      {
        std::lock_guard lock(pending_mu_);
        auto it = pending_.find(frame.request_id);
        if (it != pending_.end()) pending = it->second;
      }
      if (!pending) continue;  // a late frame of a cancelled or timed-out request
      std::optional<ChannelError> error;
      bool terminal;
      if (frame.type == proto::MessageType::Error) {
        auto info = proto::decode<proto::ErrorInfo>(frame);
        terminal = !info || info->fatal;
        if (terminal) error = guest_error(frame);
      } else {
        terminal = pending->deliver(frame);
      }
      if (terminal) {
        remove(frame.request_id);
        pending->finish(std::move(error));
      }
    }
    if (fatal) break;
  }
  {
    std::lock_guard lock(write_mu_);
    alive_ = false;
    if (close_reason_.empty()) close_reason_ = why;
  }
  fail_all(make_error(kind, why));
}

void Connection::fail_all(const ChannelError& error) {
  std::unordered_map<std::uint32_t, std::shared_ptr<Pending>> orphans;
  {
    std::lock_guard lock(pending_mu_);
    orphans.swap(pending_);
  }
  for (auto& [id, pending] : orphans) pending->finish(error);
}

void Connection::close(const std::string& why) {
  {
    std::lock_guard lock(write_mu_);
    if (close_reason_.empty()) close_reason_ = why;
    alive_ = false;
  }
  ::shutdown(fd_, SHUT_RDWR);
  if (reader_.joinable()) {
    // A handler dropping the last reference runs on the reader itself.
    if (reader_.get_id() == std::this_thread::get_id()) {
      reader_.detach();
    } else {
      reader_.join();
    }
  }
  fail_all(make_error(ChannelError::Kind::closed, why));
}

}  // namespace voidbox::control
