#include "control/control_channel.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>

namespace voidbox::control {
namespace {

namespace proto = voidbox::protocol;
namespace json = boost::json;

// One handshake attempt may take this long before we dial again.
constexpr std::chrono::seconds kHandshakeAttempt{5};
constexpr std::size_t kMaxFileChunk = 256 * 1024;

std::unexpected<ChannelError> fail(ChannelError::Kind kind, std::string message) {
  return std::unexpected(ChannelError{kind, std::move(message), std::nullopt});
}

std::optional<std::uint64_t> ok_field(const proto::Frame& frame, const char* key) {
  boost::system::error_code ec;
  json::value v = json::parse(frame.text(), ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::value* f = v.as_object().if_contains(key);
  if (f == nullptr) return std::nullopt;
  if (f->is_uint64()) return f->as_uint64();
  if (f->is_int64() && f->as_int64() >= 0) return static_cast<std::uint64_t>(f->as_int64());
  return std::nullopt;
}

std::expected<void, ChannelError> expect_type(const proto::Frame& frame, proto::MessageType type) {
  if (frame.type == type) return {};
  return fail(ChannelError::Kind::protocol, "expected " + std::string(proto::to_string(type)) +
                                                ", got " +
                                                std::string(proto::to_string(frame.type)));
}

}  // namespace

ControlChannel::ControlChannel(Connector connector, ChannelOptions options, LivenessCheck liveness)
    : connector_(std::move(connector)), options_(options), liveness_(std::move(liveness)) {}

ControlChannel::~ControlChannel() {
  close();
}

void ControlChannel::close() {
  {
    std::lock_guard lock(abort_mu_);
    closing_ = true;
  }
  abort_cv_.notify_all();
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard lock(mu_);
    conn.swap(conn_);
  }
  if (conn) conn->close("control channel closed");
}

std::expected<std::shared_ptr<Connection>, ChannelError> ControlChannel::dial() {
  const auto deadline = Clock::now() + options_.connect_deadline;
  auto backoff = options_.backoff_initial;
  std::string last = "no attempt made";
  for (;;) {
    {
      std::lock_guard lock(abort_mu_);
      if (closing_) return fail(ChannelError::Kind::closed, "control channel closed");
    }
    if (liveness_) {
      if (auto gone = liveness_()) {
        return fail(ChannelError::Kind::connect, "the guest is gone: " + *gone);
      }
    }
    auto fd = connector_();
    if (fd) {
      auto conn = Connection::handshake(*fd, options_.secret,
                                        std::min(deadline, Clock::now() + kHandshakeAttempt));
      if (conn) return *conn;
      if (conn.error().kind != ChannelError::Kind::closed &&
          conn.error().kind != ChannelError::Kind::timeout) {
        return std::unexpected(conn.error());  // auth, version, protocol: retrying won't help
      }
      last = conn.error().message;
    } else {
      last = fd.error();
    }
    if (Clock::now() >= deadline) {
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(options_.connect_deadline);
      return fail(ChannelError::Kind::connect, "could not reach the guest agent within " +
                                                   std::to_string(secs.count()) +
                                                   " s; last error: " + last);
    }
    std::unique_lock lock(abort_mu_);
    abort_cv_.wait_until(lock, std::min(deadline, Clock::now() + backoff),
                         [&] { return closing_; });
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
}

std::expected<std::shared_ptr<Connection>, ChannelError> ControlChannel::connection() {
  std::lock_guard lock(mu_);
  if (conn_ && conn_->alive()) return conn_;
  conn_.reset();
  auto conn = dial();
  if (!conn) return std::unexpected(conn.error());
  conn_ = *conn;
  return conn_;
}

std::expected<proto::HelloAck, ChannelError> ControlChannel::connect() {
  auto conn = connection();
  if (!conn) return std::unexpected(conn.error());
  return (*conn)->hello();
}

std::expected<proto::Frame, ChannelError> ControlChannel::call(proto::MessageType type,
                                                               std::string_view payload) {
  auto conn = connection();
  if (!conn) return std::unexpected(conn.error());
  auto reply = std::make_shared<proto::Frame>();
  auto pending = std::make_shared<Pending>([reply](proto::Frame& f) {
    *reply = std::move(f);
    return true;
  });
  std::uint32_t id = (*conn)->next_id();
  (*conn)->add(id, pending);
  if (auto sent = (*conn)->send(type, 0, id, payload); !sent) {
    (*conn)->remove(id);
    return std::unexpected(sent.error());
  }
  if (!pending->wait_until(Clock::now() + options_.rpc_timeout)) {
    (*conn)->remove(id);
    pending->finish(std::nullopt);
    return fail(ChannelError::Kind::timeout,
                std::string(proto::to_string(type)) + " got no reply in time");
  }
  if (auto error = pending->error()) return std::unexpected(*error);
  return std::move(*reply);
}

std::expected<std::unique_ptr<ExecSession>, ChannelError> ControlChannel::start_exec(
    const ExecRequest& request, ExecOutput output) {
  auto conn = connection();
  if (!conn) return std::unexpected(conn.error());
  proto::ExecStart start;
  start.program = request.program;
  start.args = request.args;
  start.env = request.env;
  start.cwd = request.cwd;
  start.timeout_ms = static_cast<std::uint64_t>(request.timeout.count());
  start.stdin_open = request.stdin_open;
  std::uint32_t id = (*conn)->next_id();
  auto session = std::make_unique<ExecSession>(*conn, id, request.timeout);
  auto pending = std::make_shared<Pending>(session->handler(std::move(output)));
  session->attach(pending);
  (*conn)->add(id, pending);
  if (auto sent = (*conn)->send(proto::MessageType::ExecStart, 0, id, proto::encode(start));
      !sent) {
    (*conn)->remove(id);
    pending->finish(sent.error());
    return std::unexpected(sent.error());
  }
  return session;
}

std::expected<ExecResult, ChannelError> ControlChannel::exec(
    const ExecRequest& request, ExecOutput output, std::optional<std::string> stdin_data) {
  ExecRequest r = request;
  if (stdin_data) r.stdin_open = true;
  auto session = start_exec(r, std::move(output));
  if (!session) return std::unexpected(session.error());
  if (stdin_data) {
    auto bytes =
        std::span(reinterpret_cast<const std::uint8_t*>(stdin_data->data()), stdin_data->size());
    // A command that exits without reading its stdin is not an error.
    if ((*session)->write_stdin(bytes)) (void)(*session)->close_stdin();
  }
  return (*session)->wait();
}

std::expected<std::unique_ptr<PtySession>, ChannelError> ControlChannel::open_pty(
    const voidbox::PtyRequest& request, OutputCallback on_output) {
  auto conn = connection();
  if (!conn) return std::unexpected(conn.error());
  proto::PtyOpen open;
  open.program = request.program;
  open.args = request.args;
  open.env = request.env;
  open.cwd = request.cwd;
  open.cols = request.cols;
  open.rows = request.rows;
  std::uint32_t id = (*conn)->next_id();
  auto session = std::make_unique<PtySession>(*conn, id);
  auto pending = std::make_shared<Pending>(session->handler(std::move(on_output)));
  session->attach(pending);
  (*conn)->add(id, pending);
  if (auto sent = (*conn)->send(proto::MessageType::PtyOpen, 0, id, proto::encode(open)); !sent) {
    (*conn)->remove(id);
    pending->finish(sent.error());
    return std::unexpected(sent.error());
  }
  if (auto opened = session->wait_opened(Clock::now() + options_.rpc_timeout); !opened) {
    return std::unexpected(opened.error());
  }
  return session;
}

std::expected<std::uint64_t, ChannelError> ControlChannel::write_file(
    const std::string& path, std::span<const std::uint8_t> data, std::uint32_t mode) {
  auto conn = connection();
  if (!conn) return std::unexpected(conn.error());
  auto reply = std::make_shared<proto::Frame>();
  auto pending = std::make_shared<Pending>([reply](proto::Frame& f) {
    *reply = std::move(f);
    return true;
  });
  proto::FileWrite request;
  request.path = path;
  request.mode = mode;
  std::uint32_t id = (*conn)->next_id();
  (*conn)->add(id, pending);
  auto sent = (*conn)->send(proto::MessageType::FileWrite, 0, id, proto::encode(request));
  std::size_t chunk =
      std::min<std::size_t>(kMaxFileChunk, (*conn)->hello().capabilities.max_data_chunk);
  if (chunk == 0) chunk = kMaxFileChunk;
  do {
    std::size_t n = std::min(chunk, data.size());
    bool last = n == data.size();
    if (sent && !pending->done()) {
      sent = (*conn)->send(proto::MessageType::FileData, last ? proto::kFlagEnd : 0, id,
                           data.first(n));
    }
    data = data.subspan(n);
  } while (!data.empty());
  if (!sent) {
    (*conn)->remove(id);
    return std::unexpected(sent.error());
  }
  if (!pending->wait_until(Clock::now() + options_.rpc_timeout)) {
    (*conn)->remove(id);
    return fail(ChannelError::Kind::timeout, "FileWrite " + path + " got no reply in time");
  }
  if (auto error = pending->error()) return std::unexpected(*error);
  if (auto ok = expect_type(*reply, proto::MessageType::Ok); !ok)
    return std::unexpected(ok.error());
  return ok_field(*reply, "bytes").value_or(0);
}

std::expected<std::string, ChannelError> ControlChannel::read_file(const std::string& path,
                                                                   std::uint64_t max_bytes) {
  auto conn = connection();
  if (!conn) return std::unexpected(conn.error());
  struct Collected {
    std::string bytes;
    bool too_large = false;
    bool unexpected_type = false;
  };
  auto collected = std::make_shared<Collected>();
  auto pending = std::make_shared<Pending>([collected, max_bytes](proto::Frame& f) {
    if (f.type != proto::MessageType::FileData) {
      collected->unexpected_type = true;
      return true;
    }
    if (collected->bytes.size() + f.payload.size() > max_bytes) {
      collected->too_large = true;
      return true;
    }
    collected->bytes.append(f.text());
    return f.end();
  });
  proto::FileRead request;
  request.path = path;
  request.max = max_bytes + 1;  // one byte more tells "exactly max" from "larger"
  std::uint32_t id = (*conn)->next_id();
  (*conn)->add(id, pending);
  if (auto sent = (*conn)->send(proto::MessageType::FileRead, 0, id, proto::encode(request));
      !sent) {
    (*conn)->remove(id);
    return std::unexpected(sent.error());
  }
  if (!pending->wait_until(Clock::now() + options_.rpc_timeout)) {
    (*conn)->remove(id);
    (void)(*conn)->send(proto::MessageType::Cancel, 0, id, std::string_view("{}"));
    return fail(ChannelError::Kind::timeout, "FileRead " + path + " got no reply in time");
  }
  if (auto error = pending->error()) return std::unexpected(*error);
  if (collected->too_large) {
    (void)(*conn)->send(proto::MessageType::Cancel, 0, id, std::string_view("{}"));
    return fail(ChannelError::Kind::too_large,
                path + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  if (collected->unexpected_type) {
    return fail(ChannelError::Kind::protocol, "unexpected reply to FileRead");
  }
  return std::move(collected->bytes);
}

std::expected<proto::StatResult, ChannelError> ControlChannel::stat(const std::string& path) {
  proto::StatRequest request;
  request.path = path;
  auto reply = call(proto::MessageType::Stat, proto::encode(request));
  if (!reply) return std::unexpected(reply.error());
  if (auto ok = expect_type(*reply, proto::MessageType::StatResult); !ok) {
    return std::unexpected(ok.error());
  }
  auto result = proto::decode<proto::StatResult>(*reply);
  if (!result) return fail(ChannelError::Kind::protocol, "malformed StatResult");
  return *result;
}

std::expected<void, ChannelError> ControlChannel::mkdir(const std::string& path,
                                                        std::uint32_t mode) {
  proto::Mkdir request;
  request.path = path;
  request.mode = mode;
  auto reply = call(proto::MessageType::Mkdir, proto::encode(request));
  if (!reply) return std::unexpected(reply.error());
  return expect_type(*reply, proto::MessageType::Ok);
}

std::expected<std::uint32_t, ChannelError> ControlChannel::set_allowlist(
    const std::vector<std::string>& commands) {
  proto::SetAllowlist request;
  request.commands = commands;
  auto reply = call(proto::MessageType::SetAllowlist, proto::encode(request));
  if (!reply) return std::unexpected(reply.error());
  if (auto ok = expect_type(*reply, proto::MessageType::Ok); !ok)
    return std::unexpected(ok.error());
  return static_cast<std::uint32_t>(ok_field(*reply, "count").value_or(commands.size()));
}

std::expected<void, ChannelError> ControlChannel::set_limits(const proto::Limits& limits) {
  auto reply = call(proto::MessageType::SetLimits, proto::encode(limits));
  if (!reply) return std::unexpected(reply.error());
  return expect_type(*reply, proto::MessageType::Ok);
}

std::expected<void, ChannelError> ControlChannel::ping() {
  auto reply = call(proto::MessageType::Ping, std::string_view("voidbox"));
  if (!reply) return std::unexpected(reply.error());
  return expect_type(*reply, proto::MessageType::Pong);
}

std::expected<std::unique_ptr<TelemetrySubscription>, ChannelError>
ControlChannel::subscribe_telemetry(std::chrono::milliseconds interval,
                                    std::function<void(const proto::TelemetrySample&)> cb) {
  auto conn = connection();
  if (!conn) return std::unexpected(conn.error());
  auto pending = std::make_shared<Pending>([cb = std::move(cb)](proto::Frame& f) {
    if (f.type != proto::MessageType::TelemetrySample) return true;  // Ok after Cancel
    if (auto sample = proto::decode<proto::TelemetrySample>(f); sample && cb) cb(*sample);
    return false;
  });
  proto::TelemetrySubscribe request;
  request.interval_ms = static_cast<std::uint32_t>(interval.count());
  std::uint32_t id = (*conn)->next_id();
  (*conn)->add(id, pending);
  if (auto sent =
          (*conn)->send(proto::MessageType::TelemetrySubscribe, 0, id, proto::encode(request));
      !sent) {
    (*conn)->remove(id);
    return std::unexpected(sent.error());
  }
  return std::make_unique<TelemetrySubscription>(*conn, id, pending);
}

void TelemetrySubscription::cancel() {
  if (!pending_ || pending_->done()) return;
  (void)conn_->send(protocol::MessageType::Cancel, 0, id_, std::string_view("{}"));
  conn_->remove(id_);
  pending_->finish(std::nullopt);
}

}  // namespace voidbox::control
