#include "namespaces.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace voidbox::process_backend {
namespace {

constexpr int kAllNamespaces =
    CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS;

std::string describe(int flags) {
  std::string out;
  auto add = [&](int bit, const char* name) {
    if ((flags & bit) == 0) return;
    if (!out.empty()) out += ',';
    out += name;
  };
  add(CLONE_NEWUSER, "user");
  add(CLONE_NEWNS, "mount");
  add(CLONE_NEWPID, "pid");
  add(CLONE_NEWNET, "net");
  add(CLONE_NEWUTS, "uts");
  return out.empty() ? "none" : out;
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  f.flush();
  return static_cast<bool>(f);
}

// Closes every descriptor from 3 up except those in keep (unsorted, -1
// entries ignored), with close_range over the gaps.
void close_all_except(int* keep, int n) {
  for (int i = 1; i < n; ++i) {  // insertion sort: n is tiny, no allocation
    for (int j = i; j > 0 && keep[j - 1] > keep[j]; --j) {
      const int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  }
  unsigned from = 3;
  for (int i = 0; i < n; ++i) {
    if (keep[i] < static_cast<int>(from)) continue;
    if (static_cast<unsigned>(keep[i]) > from) {
      ::syscall(SYS_close_range, from, static_cast<unsigned>(keep[i]) - 1, 0u);
    }
    from = static_cast<unsigned>(keep[i]) + 1;
  }
  ::syscall(SYS_close_range, from, ~0u, 0u);
}

// Only async-signal-safe calls from here on: the parent may be multithreaded.
[[noreturn]] void child_main(int flags, int sync_fd, int error_fd, int log_fd, int null_fd,
                             int pass_fd, const char* program, char* const* argv, char* const* envp,
                             const char* working_dir) {
  const pid_t parent = ::getppid();
  // A clone copies every descriptor of the host process, close-on-exec or
  // not, including pipes other threads are using to start other sandboxes:
  // holding their write ends would keep those children waiting below for
  // ever, and a listening socket alive after its owner died. Only ours stay.
  int keep[] = {sync_fd, error_fd, log_fd, null_fd, pass_fd};
  close_all_except(keep, static_cast<int>(sizeof keep / sizeof keep[0]));
  char go = 0;
  if (::read(sync_fd, &go, 1) != 1) ::_exit(126);
  ::setsid();
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // A parent that died before the prctl sends no signal: the sandbox would
  // outlive it (and hold whatever it inherited).
  if (::getppid() != parent) ::_exit(126);
  // Nothing the host blocked should leak into the agent and its commands.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if ((flags & CLONE_NEWNS) != 0) {
    ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
    // A /proc for the new pid namespace; tolerated when the host forbids it.
    if ((flags & CLONE_NEWPID) != 0) {
      ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
    }
  }
  if ((flags & CLONE_NEWUTS) != 0) ::sethostname("voidbox", 7);
  if ((flags & CLONE_NEWNET) != 0) {
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s >= 0) {
      struct ifreq ifr {};
      std::memcpy(ifr.ifr_name, "lo", 3);
      if (::ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
        ::ioctl(s, SIOCSIFFLAGS, &ifr);
      }
      ::close(s);
    }
  }
  ::dup2(null_fd, STDIN_FILENO);
  ::dup2(log_fd, STDOUT_FILENO);
  ::dup2(log_fd, STDERR_FILENO);
  if (pass_fd >= 0) {
    if (error_fd == 3) error_fd = ::fcntl(error_fd, F_DUPFD_CLOEXEC, 10);
    if (pass_fd == 3) {
      ::fcntl(3, F_SETFD, 0);
    } else {
      ::dup2(pass_fd, 3);  // dup2 clears close-on-exec
    }
  }
  if (working_dir[0] != '\0' && ::chdir(working_dir) != 0) {
    int err = errno;
    (void)!::write(error_fd, &err, sizeof err);
    ::_exit(127);
  }
  if ((flags & CLONE_NEWPID) != 0) {
    // We are PID 1 of the new namespace. The agent treats PID 1 as "booted
    // as a VM's init", so it runs as PID 2 and this stub stays init: it
    // reaps orphans and exits with the agent, which ends the namespace.
    // The raw syscall, not fork(): this process came from a raw clone of a
    // multithreaded parent, so glibc's locks (malloc's among them) may be
    // held by threads that do not exist here, and fork() takes them.
    const auto agent = static_cast<pid_t>(::syscall(SYS_clone, static_cast<unsigned long>(SIGCHLD),
                                                    nullptr, nullptr, nullptr, nullptr));
    if (agent < 0) {
      int err = errno;
      (void)!::write(error_fd, &err, sizeof err);
      ::_exit(127);
    }
    if (agent > 0) {
      // This stub never execs, so close-on-exec does not clean up after it:
      // it would keep every descriptor the parent process had open at the
      // clone, such as another thread's error pipe, whose reader would then
      // wait for this namespace to end. It needs nothing beyond stdio.
      if (::syscall(SYS_close_range, 3u, ~0u, 0u) != 0) {
        for (int fd = 3; fd < 4096; ++fd) ::close(fd);
      }
      ::prctl(PR_SET_NAME, "voidbox-init");
      for (;;) {
        int status = 0;
        pid_t done = ::waitpid(-1, &status, 0);
        if (done < 0 && errno != EINTR) ::_exit(1);
        if (done == agent) {
          ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        }
      }
    }
  }
  // Descriptors the host process opened without close-on-exec (a library's
  // listening socket, say) must not reach the agent: all but stdio and the
  // passed fd 3 close at exec, while error_fd still reports a failed exec.
  ::syscall(SYS_close_range, pass_fd >= 0 ? 4u : 3u, ~0u, CLOSE_RANGE_CLOEXEC);
  ::execve(program, argv, envp);
  int err = errno;
  (void)!::write(error_fd, &err, sizeof err);
  ::_exit(127);
}

}  // namespace

std::expected<Spawned, std::string> spawn_confined(const SpawnPlan& plan) {
  std::vector<char*> argv;
  for (const auto& a : plan.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : plan.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  Fd log_fd(::open(plan.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (log_fd.get() < 0) {
    return std::unexpected("cannot open agent log " + plan.log_path + ": " + std::strerror(errno));
  }
  Fd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));

  const bool root = ::geteuid() == 0;
  // Most to least confinement; each attempt fails fast in clone() itself.
  const int attempts[] = {kAllNamespaces, kAllNamespaces & ~CLONE_NEWUSER, 0};
  std::string refused;
  for (int flags : attempts) {
    if (flags != 0 && (flags & CLONE_NEWUSER) == 0 && !root) continue;
    int sync_pipe[2];
    int error_pipe[2];
    if (::pipe2(sync_pipe, O_CLOEXEC) != 0) return std::unexpected("pipe2 failed");
    if (::pipe2(error_pipe, O_CLOEXEC) != 0) {
      ::close(sync_pipe[0]);
      ::close(sync_pipe[1]);
      return std::unexpected("pipe2 failed");
    }
    Fd sync_read(sync_pipe[0]), sync_write(sync_pipe[1]);
    Fd error_read(error_pipe[0]), error_write(error_pipe[1]);

    long pid = ::syscall(SYS_clone, static_cast<unsigned long>(flags) | SIGCHLD, nullptr, nullptr,
                         nullptr, nullptr);
    if (pid == 0) {
      child_main(flags, sync_read.get(), error_write.get(), log_fd.get(), null_fd.get(),
                 plan.pass_fd, plan.program.c_str(), argv.data(), envp.data(),
                 plan.working_dir.c_str());
    }
    if (pid < 0) {
      if (!refused.empty()) refused += "; ";
      refused += describe(flags) + ": " + std::strerror(errno);
      continue;
    }
    sync_read.reset();
    error_write.reset();
    if ((flags & CLONE_NEWUSER) != 0) {
      const std::string proc = "/proc/" + std::to_string(pid);
      // Root keeps its identity map so the agent can still drop to uid 1000;
      // anyone else becomes root of a one-uid namespace.
      std::string uid_map = root ? "0 0 4294967295\n" : "0 " + std::to_string(::getuid()) + " 1\n";
      std::string gid_map = root ? "0 0 4294967295\n" : "0 " + std::to_string(::getgid()) + " 1\n";
      if (!root) write_text(proc + "/setgroups", "deny");
      if (!write_text(proc + "/uid_map", uid_map) || !write_text(proc + "/gid_map", gid_map)) {
        ::kill(static_cast<pid_t>(pid), SIGKILL);
        ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
        refused += describe(flags) + ": cannot write uid_map";
        continue;
      }
    }
    char go = 1;
    if (::write(sync_write.get(), &go, 1) != 1) {
      ::kill(static_cast<pid_t>(pid), SIGKILL);
    }
    sync_write.reset();
    int child_errno = 0;
    ssize_t n;
    do {
      n = ::read(error_read.get(), &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    if (n == sizeof child_errno) {
      ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
      return std::unexpected("cannot execute " + plan.program + ": " + std::strerror(child_errno));
    }
    Spawned out;
    out.pid = static_cast<pid_t>(pid);
    out.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, out.pid, 0));
    out.pid_namespace = (flags & CLONE_NEWPID) != 0;
    out.namespaces = describe(flags);
    if (flags != kAllNamespaces) {
      out.fallback_note =
          "could not create all namespaces (" + refused + "); running with: " + out.namespaces;
    }
    return out;
  }
  return std::unexpected("cannot start the guest agent process: " + refused);
}

}  // namespace voidbox::process_backend
