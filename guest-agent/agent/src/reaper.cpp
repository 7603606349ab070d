#include "reaper.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <ctime>

#include "log.hpp"

namespace voidbox::agent {

void Reaper::block_child_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void Reaper::start() {
  thread_ = std::thread([this] { loop(); });
  thread_.detach();  // lives as long as the process
}

pid_t Reaper::spawn(const std::function<pid_t()>& fork_fn, ExitCallback on_exit) {
  std::lock_guard lock(mu_);
  const pid_t pid = fork_fn();
  if (pid > 0) waiting_.emplace(pid, std::move(on_exit));
  return pid;
}

std::size_t Reaper::orphans_reaped() const {
  std::lock_guard lock(mu_);
  return orphans_;
}

void Reaper::reap_all() {
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;  // 0: children still running; -1/ECHILD: none left
    ExitCallback cb;
    {
      // Taking the lock also waits for a spawn() that is still registering.
      std::lock_guard lock(mu_);
      auto it = waiting_.find(pid);
      if (it != waiting_.end()) {
        cb = std::move(it->second);
        waiting_.erase(it);
      } else {
        ++orphans_;
      }
    }
    if (cb) cb(status);
  }
}

void Reaper::loop() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (;;) {
    // The timeout covers a SIGCHLD merged with one already consumed.
    timespec ts{1, 0};
    siginfo_t info;
    const int sig = ::sigtimedwait(&set, &info, &ts);
    if (sig < 0 && errno != EAGAIN && errno != EINTR) VB_LOG_WARN("sigtimedwait failed: %d", errno);
    reap_all();
  }
}

}  // namespace voidbox::agent
