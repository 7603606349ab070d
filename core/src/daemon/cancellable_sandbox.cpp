#include "daemon/cancellable_sandbox.hpp"

#include <vector>

namespace voidbox::daemon {
namespace {

Error cancelled_error() {
  return Error{Error::Kind::closed, "the run was cancelled", std::nullopt};
}

// Registered with the token for as long as it lives, so cancel() reaches it.
class TrackedSession final : public ExecSession {
 public:
  TrackedSession(std::unique_ptr<ExecSession> inner, std::shared_ptr<CancelToken> token)
      : inner_(std::move(inner)), token_(std::move(token)) {
    token_->add(inner_.get());
  }
  ~TrackedSession() override { token_->remove(inner_.get()); }

  Result<void> write_stdin(std::span<const std::uint8_t> bytes) override {
    return inner_->write_stdin(bytes);
  }
  Result<void> close_stdin() override { return inner_->close_stdin(); }
  Result<void> kill(int signal) override { return inner_->kill(signal); }
  Result<ExecResult> wait(std::optional<std::chrono::steady_clock::time_point> deadline) override {
    return inner_->wait(deadline);
  }
  std::int64_t pid() const override { return inner_->pid(); }

 private:
  std::unique_ptr<ExecSession> inner_;
  std::shared_ptr<CancelToken> token_;
};

}  // namespace

void CancelToken::cancel() {
  std::vector<ExecSession*> running;
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    running.assign(sessions_.begin(), sessions_.end());
    // Killed while the lock is held, so no session is destroyed meanwhile.
    for (auto* s : running) (void)s->kill(9);
  }
  cv_.notify_all();
}

void CancelToken::wait_cancelled() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return cancelled_.load(); });
}

void CancelToken::add(ExecSession* session) {
  std::lock_guard lock(mu_);
  sessions_.insert(session);
  // A command started just as the run was cancelled dies at once.
  if (cancelled_) (void)session->kill(9);
}

void CancelToken::remove(ExecSession* session) {
  std::lock_guard lock(mu_);
  sessions_.erase(session);
}

Result<std::unique_ptr<ExecSession>> CancellableSandbox::start_exec(const ExecRequest& request,
                                                                    ExecOutput output) {
  if (token_->cancelled()) return std::unexpected(cancelled_error());
  ExecRequest capped = request;
  if (max_exec_.count() > 0 && (capped.timeout.count() == 0 || capped.timeout > max_exec_)) {
    capped.timeout = max_exec_;
  }
  auto session = inner_->start_exec(capped, std::move(output));
  if (!session) return std::unexpected(session.error());
  return std::unique_ptr<ExecSession>(
      std::make_unique<TrackedSession>(std::move(*session), token_));
}

Result<std::unique_ptr<PtySession>> CancellableSandbox::open_pty(const PtyRequest& request,
                                                                 OutputCallback on_output) {
  if (token_->cancelled()) return std::unexpected(cancelled_error());
  return inner_->open_pty(request, std::move(on_output));
}

}  // namespace voidbox::daemon
