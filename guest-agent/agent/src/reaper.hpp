// The one place that waits for children. As PID 1 (and as a subreaper in
// process mode) the agent inherits every orphan, so a single thread collects
// all exit statuses with waitpid(-1) and hands each to the session that
// started the process; nobody else calls wait*, so no status is ever stolen.
//
// SIGCHLD must be blocked in every thread (block_child_signals() before any
// thread starts); the reaper thread takes it with sigtimedwait.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace voidbox::agent {

class Reaper {
 public:
  using ExitCallback = std::function<void(int wait_status)>;

  static void block_child_signals();

  void start();
  // Runs fork_fn (which forks and returns the child's pid, or -1) with the
  // registry locked, so the child cannot be reaped before on_exit is known.
  pid_t spawn(const std::function<pid_t()>& fork_fn, ExitCallback on_exit);
  std::size_t orphans_reaped() const;

 private:
  void loop();
  void reap_all();

  mutable std::mutex mu_;
  std::map<pid_t, ExitCallback> waiting_;
  std::size_t orphans_ = 0;
  std::thread thread_;
};

}  // namespace voidbox::agent
