#include "daemon/cancellable_sandbox.hpp"

namespace voidbox::daemon {
namespace {

Error cancelled_error() {
  return Error{Error::Kind::closed, "the run was cancelled", std::nullopt};
}

}  // namespace

void CancelToken::cancel() {
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return;
    cancelled_ = true;
  }
  cv_.notify_all();
  std::lock_guard boxes(boxes_mu_);
  for (auto* box : boxes_) box->stop();
}

void CancelToken::wait_cancelled() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return cancelled_.load(); });
}

void CancelToken::add(Sandbox* sandbox) {
  std::lock_guard lock(boxes_mu_);
  boxes_.insert(sandbox);
  // A sandbox that came up just as the run was cancelled stops at once.
  if (cancelled_) sandbox->stop();
}

void CancelToken::remove(Sandbox* sandbox) {
  std::lock_guard lock(boxes_mu_);
  boxes_.erase(sandbox);
}

CancellableSandbox::CancellableSandbox(std::unique_ptr<Sandbox> inner,
                                       std::shared_ptr<CancelToken> token,
                                       std::chrono::milliseconds max_exec)
    : inner_(std::move(inner)), token_(std::move(token)), max_exec_(max_exec) {
  token_->add(inner_.get());
}

CancellableSandbox::~CancellableSandbox() {
  token_->remove(inner_.get());
}

Result<std::unique_ptr<ExecSession>> CancellableSandbox::start_exec(const ExecRequest& request,
                                                                    ExecOutput output) {
  if (token_->cancelled()) return std::unexpected(cancelled_error());
  ExecRequest capped = request;
  if (max_exec_.count() > 0 && (capped.timeout.count() == 0 || capped.timeout > max_exec_)) {
    capped.timeout = max_exec_;
  }
  return inner_->start_exec(capped, std::move(output));
}

Result<std::unique_ptr<PtySession>> CancellableSandbox::open_pty(const PtyRequest& request,
                                                                 OutputCallback on_output) {
  if (token_->cancelled()) return std::unexpected(cancelled_error());
  return inner_->open_pty(request, std::move(on_output));
}

}  // namespace voidbox::daemon
