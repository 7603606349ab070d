#include "pty_session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace voidbox::agent {

namespace pr = protocol;
using Clock = std::chrono::steady_clock;

namespace {
constexpr auto kDrainGrace = std::chrono::milliseconds(300);
}

PtySession::PtySession(AgentContext& ctx, FrameWriter& out, std::uint32_t id, pr::PtyOpen req)
    : ctx_(ctx),
      out_(out),
      id_(id),
      req_(std::move(req)),
      child_(std::make_shared<ChildState>()),
      input_(ctx.stdin_window, [c = child_] { c->wake(); }) {}

void PtySession::on_frame(pr::Frame& f) {
  switch (f.type) {
    case pr::MessageType::PtyData:
      if (input_.push(std::move(f.payload), false) == InputQueue::PushResult::Overflow)
        out_.send(pr::make_frame(
            id_, pr::ErrorInfo{pr::ErrorCode::TooLarge, "pty input window exceeded; input closed",
                               0, false}));
      break;
    case pr::MessageType::PtyResize: {
      auto r = pr::decode<pr::PtyResize>(f);
      if (!r) {
        out_.send(pr::make_frame(
            id_, pr::ErrorInfo{pr::ErrorCode::BadRequest, r.error().message, 0, false}));
        break;
      }
      resize(r->cols, r->rows);
      break;
    }
    case pr::MessageType::PtyClose:
      child_->signal_group(SIGHUP);
      break;
    case pr::MessageType::Cancel:
      cancel();
      break;
    default:
      out_.send(pr::make_frame(
          id_,
          pr::ErrorInfo{pr::ErrorCode::BadRequest,
                        std::string(pr::to_string(f.type)) + " is not valid for a pty", 0, false}));
  }
}

void PtySession::cancel() {
  child_->signal_group(SIGKILL);
  input_.close();
}

void PtySession::resize(std::uint16_t cols, std::uint16_t rows) {
  std::lock_guard lock(master_mu_);
  if (master_ < 0) return;
  winsize ws{};
  ws.ws_col = cols;
  ws.ws_row = rows;
  ::ioctl(master_, TIOCSWINSZ, &ws);  // the kernel sends SIGWINCH to the foreground group
}

bool PtySession::start() {
  auto env_defaults = ctx_.default_env();
  env_defaults["TERM"] = "xterm-256color";
  std::string path_var = env_defaults.at("PATH");
  if (auto it = req_.env.find("PATH"); it != req_.env.end()) path_var = it->second;
  auto resolved = resolve_program(req_.program, path_var);
  if (!resolved) {
    out_.send(pr::make_error_frame(id_, resolved.error().code, resolved.error().message));
    return false;
  }
  if (!ctx_.policy.allowlist().allows(req_.program, *resolved)) {
    out_.send(
        pr::make_error_frame(id_, pr::ErrorCode::NotAllowed,
                             "command '" + req_.program + "' is not allowed by the allowlist"));
    return false;
  }
  int master = -1, slave = -1;
  winsize ws{};
  ws.ws_col = req_.cols;
  ws.ws_row = req_.rows;
  if (::openpty(&master, &slave, nullptr, nullptr, &ws) != 0) {
    out_.send(pr::make_error_frame(id_, pr::ErrorCode::SpawnFailed,
                                   std::string("openpty: ") + std::strerror(errno), errno));
    return false;
  }
  ::fcntl(master, F_SETFD, FD_CLOEXEC);
  ::fcntl(slave, F_SETFD, FD_CLOEXEC);
  SpawnPlan plan;
  plan.path = *resolved;
  plan.argv.push_back(req_.program);
  plan.argv.insert(plan.argv.end(), req_.args.begin(), req_.args.end());
  plan.envp = build_env(env_defaults, req_.env);
  plan.cwd = ctx_.host_path(req_.cwd.empty() ? "/workspace" : req_.cwd);
  plan.stdin_fd = plan.stdout_fd = plan.stderr_fd = slave;
  plan.controlling_tty = true;
  plan.identity = ctx_.identity;
  plan.limits = ctx_.policy.limits();

  auto child = child_;
  const auto spawned =
      spawn_reaped(ctx_.reaper, plan, [child](int status) { child->on_exit(status); });
  ::close(slave);
  if (!spawned) {
    ::close(master);
    out_.send(pr::make_error_frame(id_, spawned.error().code, spawned.error().message));
    return false;
  }
  child_->set_pid(*spawned);
  ::fcntl(master, F_SETFL, O_NONBLOCK);
  {
    std::lock_guard lock(master_mu_);
    master_ = master;
  }
  out_.send(pr::make_frame(id_, pr::PtyOpened{*spawned}));
  return true;
}

void PtySession::run() {
  const auto limits = ctx_.policy.limits();
  if (ctx_.running_ptys.fetch_add(1) >= limits.max_ptys) {
    ctx_.running_ptys.fetch_sub(1);
    out_.send(pr::make_error_frame(
        id_, pr::ErrorCode::Busy,
        "too many concurrent ptys (max " + std::to_string(limits.max_ptys) + ")"));
    return;
  }
  if (start()) pump();
  input_.close();
  ctx_.running_ptys.fetch_sub(1);
}

void PtySession::pump() {
  const auto started = Clock::now();
  std::optional<Clock::time_point> exited_at;
  std::vector<std::uint8_t> buf(64u << 10);
  bool master_open = true;
  for (;;) {
    if (!exited_at && child_->exit_status()) exited_at = Clock::now();
    if (exited_at && (!master_open || Clock::now() - *exited_at >= kDrainGrace)) break;
    pollfd p[2];
    short events = master_open ? POLLIN : 0;
    if (master_open && input_.has_pending()) events |= POLLOUT;
    p[0] = {master_open ? master_ : -1, events, 0};
    p[1] = {child_->wake_fd(), POLLIN, 0};
    const int timeout = exited_at ? 50 : -1;
    const int rc = ::poll(p, 2, timeout);
    if (rc < 0 && errno != EINTR) break;
    if (rc <= 0) continue;
    if (p[1].revents) child_->drain_wake();
    if (p[0].revents & POLLIN) {
      const ssize_t got = ::read(master_, buf.data(), buf.size());
      if (got > 0) {
        out_.send(pr::encode_frame(
            pr::MessageType::PtyData, 0, id_,
            std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(got))));
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        master_open = false;  // EIO: every slave fd is closed
      }
    } else if (p[0].revents & (POLLHUP | POLLERR)) {
      master_open = false;
    }
    if (master_open && (p[0].revents & POLLOUT)) input_.drain(master_);
  }
  {
    std::lock_guard lock(master_mu_);
    ::close(master_);
    master_ = -1;
  }
  pr::ExecExit exit;
  if (auto st = child_->exit_status()) {
    exit = exit_from_status(*st);
  } else {
    child_->signal_group(SIGKILL);
    exit.exit_code = -1;
    exit.error = "agent lost track of the process";
  }
  child_->mark_group_gone();
  exit.duration_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count());
  out_.send(pr::encode_frame(pr::MessageType::PtyExit, 0, id_, pr::encode(exit)));
}

}  // namespace voidbox::agent
