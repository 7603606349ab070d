#include "vmm_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <vector>

extern char** environ;

namespace voidbox::kvm {

Result<VmmProcess> VmmProcess::spawn(const std::string& vmm_path, const std::string& config_path,
                                     const std::string& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  // Own process group: stop() can signal everything the VMM runs, and a
  // terminal's ^C reaches the runtime, which then stops the VM in order.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigfillset(&defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv = {const_cast<char*>(vmm_path.c_str()),
                             const_cast<char*>(config_path.c_str()), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, vmm_path.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    errno = rc;
    return fail_errno("cannot start " + vmm_path);
  }
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  return VmmProcess(pid, std::move(pidfd));
}

VmmProcess::VmmProcess(VmmProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)), status_(o.status_) {}

VmmProcess::~VmmProcess() {
  if (pid_ > 0 && !status()) {
    signal(SIGKILL);
    wait(-1);
  }
}

std::optional<int> VmmProcess::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

std::optional<int> VmmProcess::wait(int timeout_ms) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (status_) return status_;
      int st = 0;
      const pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        status_ = st;
        return status_;
      }
      if (r < 0 && errno != EINTR) {
        status_ = W_EXITCODE(127, 0);  // lost: someone else reaped it
        return status_;
      }
    }
    int wait_ms = -1;
    if (timeout_ms >= 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
      if (left <= 0) return std::nullopt;
      wait_ms = static_cast<int>(left);
    }
    if (pidfd_.valid()) {
      pollfd p{pidfd_.get(), POLLIN, 0};
      ::poll(&p, 1, wait_ms);
    } else {
      ::usleep(wait_ms < 0 || wait_ms > 5 ? 5000 : static_cast<useconds_t>(wait_ms) * 1000);
    }
  }
}

void VmmProcess::signal(int sig) {
  std::lock_guard lock(mu_);
  if (status_ || pid_ <= 0) return;
  if (::kill(-pid_, sig) != 0) ::kill(pid_, sig);
}

}  // namespace voidbox::kvm
