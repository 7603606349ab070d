#include "confine.hpp"

#include <seccomp.h>
#include <sys/prctl.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace voidbox::kvm {
namespace {

// What a running VM uses: KVM ioctls and eventfds, device threads' sockets
// (the vsock Unix socket), memory management for allocations, thread
// exit/kicks, timers and polling. Nothing opens files or spawns processes.
constexpr const char* kAllowed[] = {
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "lseek",
    "close",
    "ioctl",
    "fcntl",
    "fstat",
    "newfstatat",
    "ftruncate",
    "fsync",
    "fdatasync",
    "mmap",
    "munmap",
    "mprotect",
    "madvise",
    "mremap",
    "brk",
    "futex",
    "set_robust_list",
    "get_robust_list",
    "rseq",
    "sched_yield",
    "sched_getaffinity",
    "nanosleep",
    "clock_nanosleep",
    "clock_gettime",
    "gettimeofday",
    "getrusage",
    "getpid",
    "gettid",
    "tgkill",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sigaltstack",
    "exit",
    "exit_group",
    "restart_syscall",
    "poll",
    "ppoll",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "eventfd2",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    "pipe2",
    "accept",
    "accept4",
    "recvfrom",
    "sendto",
    "recvmsg",
    "sendmsg",
    "shutdown",
    "getsockopt",
    "setsockopt",
    "getsockname",
    "getpeername",
    "socket",
    "connect",
    "getrandom",
    "prctl",
    "clone",
    "clone3",
    "membarrier",
    "unlink",
    "unlinkat",
};

// What a host directory share (virtio-9p or virtiofs) serves with: confined opens
// (openat2) and the *at calls on the descriptors they return, plus chmod,
// utimensat and truncate by /proc/self/fd path for the calls that take no
// O_PATH descriptor.
constexpr const char* kFileShareAllowed[] = {
    "openat",   "openat2",   "getdents64", "mkdirat",  "symlinkat", "linkat",
    "renameat", "renameat2", "readlinkat", "fchmodat", "utimensat", "fstatfs",
    "statx",    "chmod",     "truncate",   "fchmod",   "fallocate", "fadvise64",
};

}  // namespace

Result<void> confine_process(bool file_shares) {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return fail_errno("PR_SET_NO_NEW_PRIVS failed");
  const char* mode_env = std::getenv("VOIDBOX_VMM_SECCOMP");
  const std::string_view mode = mode_env != nullptr ? mode_env : "on";
  if (mode == "off") return {};
  const std::uint32_t action = mode == "log" ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(seccomp_init(action), seccomp_release);
  if (!ctx) return fail("seccomp_init failed");
  std::vector<const char*> allowed(std::begin(kAllowed), std::end(kAllowed));
  if (file_shares)
    allowed.insert(allowed.end(), std::begin(kFileShareAllowed), std::end(kFileShareAllowed));
  for (const char* name : allowed) {
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0); rc != 0) {
      return fail(std::string("seccomp_rule_add(") + name + ") failed: " + std::strerror(-rc));
    }
  }
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 1); rc != 0) {
    return fail(std::string("seccomp TSYNC unavailable: ") + std::strerror(-rc));
  }
  if (int rc = seccomp_load(ctx.get()); rc != 0) {
    return fail(std::string("seccomp_load failed: ") + std::strerror(-rc));
  }
  return {};
}

}  // namespace voidbox::kvm
