// A started child whose exit status arrives from the Reaper, with an eventfd
// that wakes the session's poll loop on exit or on new input.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

#include "voidbox/protocol/messages.hpp"

namespace voidbox::agent {

class ChildState {
 public:
  ChildState();
  ~ChildState();
  ChildState(const ChildState&) = delete;
  ChildState& operator=(const ChildState&) = delete;

  int wake_fd() const { return wake_fd_; }
  void wake();
  void drain_wake();

  void set_pid(pid_t pid);
  void on_exit(int wait_status);  // from the reaper thread
  std::optional<int> exit_status() const;
  // Signals the child's process group while it may still exist.
  void signal_group(int sig);
  void mark_group_gone();

 private:
  int wake_fd_;
  mutable std::mutex mu_;
  pid_t pid_ = -1;
  std::optional<int> status_;
  bool group_gone_ = false;
};

// ExecExit fields from a wait status.
protocol::ExecExit exit_from_status(int wait_status);

}  // namespace voidbox::agent
