// One voidbox-vmm child process: spawn, wait (with a timeout), signal.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <optional>
#include <string>

#include "vmm/result.hpp"
#include "vmm/unique_fd.hpp"

namespace voidbox::kvm {

class VmmProcess {
 public:
  // Spawns `vmm_path config_path` in its own process group, stdout and stderr
  // appended to log_path.
  static Result<VmmProcess> spawn(const std::string& vmm_path, const std::string& config_path,
                                  const std::string& log_path);
  VmmProcess(VmmProcess&&) noexcept;
  VmmProcess& operator=(VmmProcess&&) = delete;
  VmmProcess(const VmmProcess&) = delete;
  ~VmmProcess();

  pid_t pid() const { return pid_; }
  // Waits up to timeout_ms (-1 forever) for the child to exit; its wait
  // status once it has (the child is reaped exactly once).
  std::optional<int> wait(int timeout_ms);
  std::optional<int> status() const;
  // Signals the whole process group (a no-op once reaped).
  void signal(int sig);

 private:
  VmmProcess(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}

  pid_t pid_ = -1;
  UniqueFd pidfd_;
  mutable std::mutex mu_;
  std::optional<int> status_;
};

}  // namespace voidbox::kvm
