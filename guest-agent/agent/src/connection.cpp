#include "connection.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "exec_session.hpp"
#include "log.hpp"
#include "pty_session.hpp"
#include "telemetry.hpp"

namespace voidbox::agent {

namespace pr = protocol;
using pr::ErrorCode;
using pr::MessageType;

namespace {

constexpr std::size_t kMaxSessions = 256;
constexpr std::size_t kMaxUploads = 64;

const std::vector<std::string> kAgentFeatures = {
    std::string(pr::kFeatureExec),  std::string(pr::kFeatureStdin),
    std::string(pr::kFeatureFiles), std::string(pr::kFeatureTelemetry),
    std::string(pr::kFeaturePty),   std::string(pr::kFeaturePolicy)};

}  // namespace

Connection::Connection(AgentContext& ctx, int fd)
    : ctx_(ctx), fd_(fd), writer_(fd, ctx.write_queue_bytes) {}

Connection::~Connection() {
  teardown();
  ::close(fd_);
}

void Connection::reply_ok(std::uint32_t id, const std::string& json) {
  writer_.send(pr::encode_frame(MessageType::Ok, 0, id, json));
}

void Connection::reply_error(std::uint32_t id, ErrorCode code, const std::string& message,
                             int sys_errno) {
  writer_.send(pr::make_error_frame(id, code, message, sys_errno));
}

bool Connection::serve() {
  pr::FrameDecoder decoder;
  std::vector<std::uint8_t> buf(64u << 10);
  while (!shutdown_) {
    const ssize_t n = ::read(fd_, buf.data(), buf.size());
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      VB_LOG_WARN("closing connection: read failed: errno %d", errno);
      break;
    }
    if (auto r = decoder.feed(std::span(buf.data(), static_cast<std::size_t>(n))); !r) {
      VB_LOG_WARN("closing connection: %s", r.error().message.c_str());
      reply_error(0, ErrorCode::TooLarge, r.error().message);
      break;
    }
    bool close_now = false;
    while (decoder.has_frame() && !close_now && !shutdown_) {
      pr::Frame f = decoder.pop();
      if (!authenticated_) {
        close_now = !authenticate(f);
      } else {
        dispatch(f);
      }
    }
    if (close_now) break;
  }
  writer_.flush();
  if (shutdown_) linger_for_peer_close();
  teardown();
  return shutdown_;
}

void Connection::linger_for_peer_close() {
  // The Ok to Shutdown is in the socket buffer, not yet at the host; powering
  // off now would reset the connection under it. Half-close and wait (boundedly)
  // for the host to close its side.
  ::shutdown(fd_, SHUT_WR);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  std::uint8_t sink[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
    if (::read(fd_, sink, sizeof sink) <= 0) return;
  }
}

bool Connection::authenticate(pr::Frame& f) {
  if (f.type != MessageType::Hello) {
    // No reply: an unauthenticated peer learns nothing.
    VB_LOG_WARN("closing connection: %s before Hello", std::string(pr::to_string(f.type)).c_str());
    return false;
  }
  auto hello = pr::decode<pr::Hello>(f);
  if (!hello) {
    reply_error(f.request_id, ErrorCode::BadRequest, "bad Hello: " + hello.error().message);
    return false;
  }
  auto version = pr::check_hello(*hello, ctx_.secret);
  if (!version) {
    VB_LOG_WARN("handshake refused: %s", version.error().message.c_str());
    reply_error(f.request_id, version.error().code, version.error().message);
    return false;
  }
  version_ = *version;
  pr::HelloAck ack;
  ack.version = version_;
  for (const auto& feat : kAgentFeatures)
    if (std::find(hello->features.begin(), hello->features.end(), feat) != hello->features.end())
      ack.features.push_back(feat);
  ack.agent_version = kAgentVersion;
  ack.kernel_release = ctx_.kernel_release;
  auto& caps = ack.capabilities;
  caps.pid1 = ctx_.pid1;
  caps.process_mode = ctx_.process_mode;
  caps.exec_uid = ctx_.identity.switch_user ? ctx_.identity.uid : ::getuid();
  caps.exec_gid = ctx_.identity.switch_user ? ctx_.identity.gid : ::getgid();
  caps.dropped_privileges = ctx_.identity.switch_user;
  const auto limits = ctx_.policy.limits();
  caps.max_execs = limits.max_execs;
  caps.max_ptys = limits.max_ptys;
  caps.stdin_window = ctx_.stdin_window;
  caps.file_roots = ctx_.roots.roots();
  caps.mount_errors = ctx_.mount_errors;
  writer_.send(pr::make_frame(f.request_id, ack));
  authenticated_ = true;
  return true;
}

void Connection::start_session(std::uint32_t id, std::shared_ptr<Session> s) {
  {
    std::lock_guard lock(mu_);
    if (sessions_.contains(id) || uploads_.contains(id)) {
      reply_error(id, ErrorCode::Busy, "request id " + std::to_string(id) + " is already in use");
      return;
    }
    if (sessions_.size() >= kMaxSessions) {
      reply_error(id, ErrorCode::Busy, "too many requests in flight on this connection");
      return;
    }
    sessions_.emplace(id, s);
    ++running_threads_;
  }
  std::thread([this, id, s] {
    s->run();
    std::lock_guard lock(mu_);
    sessions_.erase(id);
    --running_threads_;
    idle_cv_.notify_all();
  }).detach();
}

void Connection::dispatch(pr::Frame& f) {
  const std::uint32_t id = f.request_id;

  // Follow-up frames of a running request.
  switch (f.type) {
    case MessageType::ExecStdin:
    case MessageType::ExecKill:
    case MessageType::PtyData:
    case MessageType::PtyResize:
    case MessageType::PtyClose:
    case MessageType::Cancel: {
      std::shared_ptr<Session> s;
      {
        std::lock_guard lock(mu_);
        if (auto it = sessions_.find(id); it != sessions_.end()) s = it->second;
      }
      // A frame for a request that already finished is a normal race; drop it.
      if (s) s->on_frame(f);
      if (f.type == MessageType::Cancel) uploads_.erase(id);  // abandoned FileWrite
      return;
    }
    case MessageType::FileData:
      handle_file_data(f);
      return;
    default:
      break;
  }

  switch (f.type) {
    case MessageType::Ping:
      writer_.send(pr::encode_frame(MessageType::Pong, 0, id, f.payload));
      return;
    case MessageType::Shutdown:
      VB_LOG_INFO("shutdown requested by the host");
      reply_ok(id);
      shutdown_ = true;
      ctx_.shutdown_requested = true;
      return;
    case MessageType::ExecStart: {
      auto req = pr::decode<pr::ExecStart>(f);
      if (!req) return reply_error(id, req.error().code, req.error().message);
      start_session(id, std::make_shared<ExecSession>(ctx_, writer_, id, std::move(*req)));
      return;
    }
    case MessageType::PtyOpen: {
      auto req = pr::decode<pr::PtyOpen>(f);
      if (!req) return reply_error(id, req.error().code, req.error().message);
      start_session(id, std::make_shared<PtySession>(ctx_, writer_, id, std::move(*req)));
      return;
    }
    case MessageType::TelemetrySubscribe: {
      auto req = pr::decode<pr::TelemetrySubscribe>(f);
      if (!req) return reply_error(id, req.error().code, req.error().message);
      start_session(id, std::make_shared<TelemetrySession>(writer_, id, req->interval_ms));
      return;
    }
    case MessageType::FileRead: {
      auto req = pr::decode<pr::FileRead>(f);
      if (!req) return reply_error(id, req.error().code, req.error().message);
      start_session(id, std::make_shared<FileReadSession>(ctx_, writer_, id, std::move(*req)));
      return;
    }
    case MessageType::FileWrite:
      handle_file_write(f);
      return;
    case MessageType::Stat: {
      auto req = pr::decode<pr::StatRequest>(f);
      if (!req) return reply_error(id, req.error().code, req.error().message);
      auto r = ctx_.files->stat(req->path);
      if (!r) return reply_error(id, r.error().code, r.error().message, r.error().sys_errno);
      writer_.send(pr::make_frame(id, *r));
      return;
    }
    case MessageType::Mkdir: {
      auto req = pr::decode<pr::Mkdir>(f);
      if (!req) return reply_error(id, req.error().code, req.error().message);
      auto r = ctx_.files->mkdir(*req);
      if (!r) return reply_error(id, r.error().code, r.error().message, r.error().sys_errno);
      reply_ok(id);
      return;
    }
    case MessageType::SetAllowlist: {
      auto req = pr::decode<pr::SetAllowlist>(f);
      if (!req) return reply_error(id, req.error().code, req.error().message);
      const std::size_t count = req->commands.size();
      ctx_.policy.allowlist().set(std::move(req->commands));
      VB_LOG_INFO("allowlist updated: %zu entries", count);
      reply_ok(id, "{\"count\":" + std::to_string(count) + "}");
      return;
    }
    case MessageType::SetLimits: {
      auto req = pr::decode<pr::Limits>(f);
      if (!req) return reply_error(id, req.error().code, req.error().message);
      std::string err;
      if (!ctx_.policy.update_limits(*req, err)) return reply_error(id, ErrorCode::BadRequest, err);
      reply_ok(id, pr::encode(ctx_.policy.limits_message()));
      return;
    }
    case MessageType::Hello:
      reply_error(id, ErrorCode::BadRequest, "already authenticated");
      return;
    default:
      reply_error(id, ErrorCode::UnsupportedType,
                  "unsupported message type " + std::to_string(static_cast<unsigned>(f.type)) +
                      " (" + std::string(pr::to_string(f.type)) + ")");
  }
}

void Connection::handle_file_write(pr::Frame& f) {
  const std::uint32_t id = f.request_id;
  auto req = pr::decode<pr::FileWrite>(f);
  if (!req) return reply_error(id, req.error().code, req.error().message);
  {
    std::lock_guard lock(mu_);
    if (sessions_.contains(id) || uploads_.contains(id))
      return reply_error(id, ErrorCode::Busy,
                         "request id " + std::to_string(id) + " is already in use");
  }
  if (uploads_.size() >= kMaxUploads)
    return reply_error(id, ErrorCode::Busy, "too many file writes in progress");
  auto fd = ctx_.files->open_for_write(*req);
  if (!fd) return reply_error(id, fd.error().code, fd.error().message, fd.error().sys_errno);
  Upload up;
  up.fd = std::move(*fd);
  up.path = req->path;
  up.max_bytes = ctx_.policy.limits().fsize_bytes;
  uploads_.emplace(id, std::move(up));
}

void Connection::handle_file_data(pr::Frame& f) {
  auto it = uploads_.find(f.request_id);
  // Data for a write that already failed (the host may not have seen the
  // Error yet) or was cancelled: drop it; that request already has its reply.
  if (it == uploads_.end()) return;
  Upload& up = it->second;
  auto fail = [&](ErrorCode code, const std::string& msg, int err) {
    reply_error(f.request_id, code, msg, err);
    uploads_.erase(it);
  };
  if (up.written + f.payload.size() > up.max_bytes)
    return fail(ErrorCode::TooLarge,
                "write '" + up.path + "': exceeds the file size limit of " +
                    std::to_string(up.max_bytes) + " bytes",
                EFBIG);
  std::size_t off = 0;
  while (off < f.payload.size()) {
    const ssize_t n = ::write(up.fd.get(), f.payload.data() + off, f.payload.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      auto e = file_error_from_errno(err, "write", up.path);
      return fail(e.code, e.message, err);
    }
    off += static_cast<std::size_t>(n);
  }
  up.written += f.payload.size();
  if (f.end()) {
    const std::uint64_t total = up.written;
    uploads_.erase(it);
    reply_ok(f.request_id, "{\"bytes\":" + std::to_string(total) + "}");
  }
}

void Connection::teardown() {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, s] : sessions_) live.push_back(s);
  }
  // Nobody will read the results: stop every command this connection started.
  for (auto& s : live) s->cancel();
  writer_.close();
  uploads_.clear();
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return running_threads_ == 0; });
}

}  // namespace voidbox::agent
