#include "exec_session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "log.hpp"

namespace voidbox::agent {

namespace pr = protocol;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kReadChunk = 64u << 10;
// After the command exits, output still held open by its background children
// is read for this long before ExecExit is sent.
constexpr auto kDrainGrace = std::chrono::milliseconds(300);

struct Pipe {
  int r = -1, w = -1;
  bool open() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return false;
    r = p[0];
    w = p[1];
    return true;
  }
  void close_all() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
    r = w = -1;
  }
};

}  // namespace

ExecSession::ExecSession(AgentContext& ctx, FrameWriter& out, std::uint32_t id, pr::ExecStart req)
    : ctx_(ctx),
      out_(out),
      id_(id),
      req_(std::move(req)),
      child_(std::make_shared<ChildState>()),
      stdin_(ctx.stdin_window, [c = child_] { c->wake(); }) {}

void ExecSession::send_error(pr::ErrorCode code, const std::string& message) {
  out_.send(pr::make_error_frame(id_, code, message));
}

void ExecSession::on_frame(pr::Frame& f) {
  switch (f.type) {
    case pr::MessageType::ExecStdin:
      if (req_.stdin_open &&
          stdin_.push(std::move(f.payload), f.end()) == InputQueue::PushResult::Overflow)
        out_.send(pr::make_frame(
            id_, pr::ErrorInfo{pr::ErrorCode::TooLarge,
                               "stdin window of " + std::to_string(ctx_.stdin_window) +
                                   " unconsumed bytes exceeded; the command's stdin was closed",
                               0, false}));
      break;
    case pr::MessageType::ExecKill: {
      auto k = pr::decode<pr::ExecKill>(f);
      if (!k) {
        out_.send(pr::make_frame(
            id_, pr::ErrorInfo{pr::ErrorCode::BadRequest, k.error().message, 0, false}));
        break;
      }
      child_->signal_group(k->signal);
      break;
    }
    case pr::MessageType::Cancel:
      cancel();
      break;
    default:
      out_.send(pr::make_frame(
          id_, pr::ErrorInfo{pr::ErrorCode::BadRequest,
                             std::string(pr::to_string(f.type)) + " is not valid for an exec", 0,
                             false}));
  }
}

void ExecSession::cancel() {
  cancelled_ = true;
  child_->signal_group(SIGKILL);
  stdin_.close();
}

bool ExecSession::start(int& out_r, int& err_r, int& in_w) {
  const auto env_defaults = ctx_.default_env();
  const auto env = build_env(env_defaults, req_.env);
  std::string path_var = env_defaults.at("PATH");
  if (auto it = req_.env.find("PATH"); it != req_.env.end()) path_var = it->second;

  auto resolved = resolve_program(req_.program, path_var);
  if (!resolved) {
    send_error(resolved.error().code, resolved.error().message);
    return false;
  }
  if (!ctx_.policy.allowlist().allows(req_.program, *resolved)) {
    send_error(pr::ErrorCode::NotAllowed,
               "command '" + req_.program + "' is not allowed by the allowlist");
    return false;
  }

  Pipe out, err, in;
  if (!out.open() || !err.open() || (req_.stdin_open && !in.open())) {
    const int e = errno;
    out.close_all();
    err.close_all();
    in.close_all();
    send_error(pr::ErrorCode::SpawnFailed, std::string("pipe: ") + std::strerror(e));
    return false;
  }
  int child_stdin = in.r;
  if (!req_.stdin_open) child_stdin = ::open("/dev/null", O_RDONLY | O_CLOEXEC);

  SpawnPlan plan;
  plan.path = *resolved;
  plan.argv.push_back(req_.program);
  plan.argv.insert(plan.argv.end(), req_.args.begin(), req_.args.end());
  plan.envp = env;
  plan.cwd = ctx_.host_path(req_.cwd.empty() ? "/workspace" : req_.cwd);
  plan.stdin_fd = child_stdin;
  plan.stdout_fd = out.w;
  plan.stderr_fd = err.w;
  plan.identity = ctx_.identity;
  plan.limits = ctx_.policy.limits();

  auto child = child_;
  const auto spawned =
      spawn_reaped(ctx_.reaper, plan, [child](int status) { child->on_exit(status); });
  if (child_stdin >= 0) ::close(child_stdin);
  ::close(out.w);
  ::close(err.w);
  if (!spawned) {
    ::close(out.r);
    ::close(err.r);
    if (in.w >= 0) ::close(in.w);
    send_error(spawned.error().code, spawned.error().message);
    return false;
  }
  child_->set_pid(*spawned);
  if (cancelled_) child_->signal_group(SIGKILL);  // cancelled while starting
  out_r = out.r;
  err_r = err.r;
  in_w = in.w;
  if (in_w >= 0) ::fcntl(in_w, F_SETFL, O_NONBLOCK);
  out_.send(pr::make_frame(id_, pr::ExecStarted{*spawned}));
  return true;
}

void ExecSession::run() {
  const auto limits = ctx_.policy.limits();
  if (ctx_.running_execs.fetch_add(1) >= limits.max_execs) {
    ctx_.running_execs.fetch_sub(1);
    send_error(pr::ErrorCode::Busy,
               "too many concurrent execs (max " + std::to_string(limits.max_execs) + ")");
    return;
  }
  int out_r = -1, err_r = -1, in_w = -1;
  if (start(out_r, err_r, in_w)) pump(out_r, err_r, in_w);
  stdin_.close();
  ctx_.running_execs.fetch_sub(1);
}

void ExecSession::pump(int out_r, int err_r, int in_w) {
  const auto started = Clock::now();
  const bool has_deadline = req_.timeout_ms > 0;
  const auto deadline = started + std::chrono::milliseconds(req_.timeout_ms);
  std::optional<Clock::time_point> exited_at;
  std::uint64_t bytes[2] = {0, 0};
  std::vector<std::uint8_t> buf(kReadChunk);
  int fds[2] = {out_r, err_r};
  bool stdin_broken = false;

  for (;;) {
    if (!exited_at && child_->exit_status()) exited_at = Clock::now();
    if (exited_at && fds[0] < 0 && fds[1] < 0) break;
    if (exited_at && Clock::now() - *exited_at >= kDrainGrace) break;

    pollfd p[4];
    int n = 0;
    for (int s = 0; s < 2; ++s)
      if (fds[s] >= 0) p[n++] = {fds[s], POLLIN, 0};
    const int wake_index = n;
    p[n++] = {child_->wake_fd(), POLLIN, 0};
    int stdin_index = -1;
    if (in_w >= 0 && !stdin_broken && stdin_.has_pending()) {
      stdin_index = n;
      p[n++] = {in_w, POLLOUT, 0};
    }

    int timeout_ms = -1;
    auto consider = [&](Clock::time_point t) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count() + 1;
      const int ms = static_cast<int>(std::max<long long>(0, std::min<long long>(left, 60000)));
      timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
    };
    if (has_deadline && !timed_out_) consider(deadline);
    if (exited_at) consider(*exited_at + kDrainGrace);

    const int rc = ::poll(p, static_cast<nfds_t>(n), timeout_ms);
    if (rc < 0 && errno != EINTR) break;

    if (has_deadline && !timed_out_ && Clock::now() >= deadline && !exited_at) {
      timed_out_ = true;
      child_->signal_group(SIGKILL);
      VB_LOG_INFO("exec %u (%s) timed out after %llu ms", id_, req_.program.c_str(),
                  static_cast<unsigned long long>(req_.timeout_ms));
    }
    if (rc <= 0) continue;

    if (p[wake_index].revents) child_->drain_wake();
    for (int i = 0; i < wake_index; ++i) {
      if (!p[i].revents) continue;
      const int s = p[i].fd == fds[0] ? 0 : 1;
      const ssize_t got = ::read(fds[s], buf.data(), buf.size());
      if (got > 0) {
        bytes[s] += static_cast<std::uint64_t>(got);
        out_.send(pr::encode_exec_output(
            id_, s == 0 ? pr::OutputStream::Stdout : pr::OutputStream::Stderr,
            std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(got))));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        ::close(fds[s]);
        fds[s] = -1;
      }
    }
    if (stdin_index >= 0 && p[stdin_index].revents) {
      switch (stdin_.drain(in_w)) {
        case InputQueue::DrainResult::Eof:
          ::close(in_w);
          in_w = -1;
          break;
        case InputQueue::DrainResult::Broken:
          stdin_broken = true;
          break;
        default:
          break;
      }
    }
  }

  for (int fd : fds)
    if (fd >= 0) ::close(fd);
  if (in_w >= 0) ::close(in_w);

  pr::ExecExit exit;
  if (auto st = child_->exit_status()) {
    exit = exit_from_status(*st);
  } else {
    // Only reachable if poll failed; make sure nothing is left running.
    child_->signal_group(SIGKILL);
    exit.exit_code = -1;
    exit.error = "agent lost track of the process";
  }
  if (timed_out_) {
    exit.timed_out = true;
    exit.error = "timed out after " + std::to_string(req_.timeout_ms) + " ms";
  }
  child_->mark_group_gone();
  exit.duration_ms =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     (exited_at ? *exited_at : Clock::now()) - started)
                                     .count());
  exit.stdout_bytes = bytes[0];
  exit.stderr_bytes = bytes[1];
  out_.send(pr::make_frame(id_, exit));
}

}  // namespace voidbox::agent
