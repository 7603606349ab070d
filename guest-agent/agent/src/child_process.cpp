#include "child_process.hpp"

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

namespace voidbox::agent {

ChildState::ChildState() : wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

ChildState::~ChildState() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void ChildState::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void ChildState::drain_wake() {
  std::uint64_t v;
  [[maybe_unused]] ssize_t n = ::read(wake_fd_, &v, sizeof v);
}

void ChildState::set_pid(pid_t pid) {
  std::lock_guard lock(mu_);
  pid_ = pid;
}

void ChildState::on_exit(int wait_status) {
  {
    std::lock_guard lock(mu_);
    status_ = wait_status;
  }
  wake();
}

std::optional<int> ChildState::exit_status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void ChildState::signal_group(int sig) {
  std::lock_guard lock(mu_);
  // The leader's pid names the group; the kernel does not reuse it while any
  // member lives, so this is safe until the session declares the group gone.
  if (pid_ > 0 && !group_gone_) ::kill(-pid_, sig);
}

void ChildState::mark_group_gone() {
  std::lock_guard lock(mu_);
  group_gone_ = true;
}

protocol::ExecExit exit_from_status(int st) {
  protocol::ExecExit e;
  if (WIFEXITED(st)) {
    e.exit_code = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    e.signal = WTERMSIG(st);
    e.exit_code = 128 + e.signal;
  } else {
    e.exit_code = -1;
  }
  return e;
}

}  // namespace voidbox::agent
