#include "spawn.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

namespace voidbox::agent {

using protocol::ErrorCode;

namespace {

bool is_executable_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

// Child-side failure report: stage byte + errno, then exit.
[[noreturn]] void child_fail(int report_fd, std::uint8_t stage) {
  const int err = errno;
  std::uint8_t msg[1 + sizeof(int)];
  msg[0] = stage;
  std::memcpy(msg + 1, &err, sizeof err);
  [[maybe_unused]] ssize_t n = ::write(report_fd, msg, sizeof msg);
  ::_exit(127);
}

enum Stage : std::uint8_t { kStdio = 1, kSession, kTty, kRlimit, kUser, kCwd, kExec };

const char* stage_name(std::uint8_t s) {
  switch (s) {
    case kStdio:
      return "redirecting stdio";
    case kSession:
      return "setsid";
    case kTty:
      return "acquiring the controlling tty";
    case kRlimit:
      return "setting resource limits";
    case kUser:
      return "switching user";
    case kCwd:
      return "changing to the working directory";
    case kExec:
      return "exec";
    default:
      return "starting";
  }
}

}  // namespace

std::expected<std::string, SpawnError> resolve_program(const std::string& program,
                                                       const std::string& path_var) {
  if (program.empty()) return std::unexpected(SpawnError{ErrorCode::BadRequest, "empty program"});
  if (program.find('/') != std::string::npos) {
    if (!is_executable_file(program))
      return std::unexpected(SpawnError{
          ErrorCode::NotFound, "program '" + program + "' does not exist or is not executable"});
    return program;
  }
  std::size_t pos = 0;
  while (pos <= path_var.size()) {
    std::size_t next = path_var.find(':', pos);
    if (next == std::string::npos) next = path_var.size();
    std::string_view dir = std::string_view(path_var).substr(pos, next - pos);
    if (dir.empty()) dir = ".";
    std::string candidate;
    candidate.reserve(dir.size() + 1 + program.size());
    candidate.append(dir);
    candidate.push_back('/');
    candidate.append(program);
    if (is_executable_file(candidate)) return candidate;
    pos = next + 1;
  }
  return std::unexpected(SpawnError{
      ErrorCode::NotFound, "program '" + program + "' not found in PATH (" + path_var + ")"});
}

std::vector<std::string> build_env(const std::map<std::string, std::string>& defaults,
                                   const std::map<std::string, std::string>& request) {
  std::map<std::string, std::string> merged = defaults;
  for (const auto& [k, v] : request) merged[k] = v;
  std::vector<std::string> out;
  out.reserve(merged.size());
  for (const auto& [k, v] : merged)
    if (!k.empty() && k.find('=') == std::string::npos) out.push_back(k + "=" + v);
  return out;
}

std::expected<pid_t, SpawnError> fork_exec(const SpawnPlan& plan) {
  std::vector<char*> argv;
  for (const auto& a : plan.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : plan.envp) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const rlimit nofile{plan.limits.nofile, plan.limits.nofile};
  const rlimit nproc{plan.limits.nproc, plan.limits.nproc};
  const rlimit fsize{plan.limits.fsize_bytes, plan.limits.fsize_bytes};

  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0)
    return std::unexpected(
        SpawnError{ErrorCode::SpawnFailed, std::string("pipe: ") + std::strerror(errno)});

  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(report[0]);
    ::close(report[1]);
    return std::unexpected(
        SpawnError{ErrorCode::SpawnFailed, std::string("fork: ") + std::strerror(err)});
  }
  if (pid == 0) {
    // Child: undo the agent's signal setup, then become the command.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (::setsid() < 0) child_fail(report[1], kSession);
    if (::dup2(plan.stdin_fd, 0) < 0 || ::dup2(plan.stdout_fd, 1) < 0 ||
        ::dup2(plan.stderr_fd, 2) < 0)
      child_fail(report[1], kStdio);
    if (plan.controlling_tty && ::ioctl(0, TIOCSCTTY, 0) < 0) child_fail(report[1], kTty);
    if (::setrlimit(RLIMIT_NOFILE, &nofile) != 0 || ::setrlimit(RLIMIT_NPROC, &nproc) != 0 ||
        ::setrlimit(RLIMIT_FSIZE, &fsize) != 0)
      child_fail(report[1], kRlimit);
    if (plan.identity.switch_user) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(plan.identity.gid) != 0 ||
          ::setuid(plan.identity.uid) != 0)
        child_fail(report[1], kUser);
    }
    if (!plan.cwd.empty() && ::chdir(plan.cwd.c_str()) != 0) child_fail(report[1], kCwd);
    ::execve(plan.path.c_str(), argv.data(), envp.data());
    child_fail(report[1], kExec);
  }
  ::close(report[1]);
  std::uint8_t msg[1 + sizeof(int)];
  ssize_t n;
  do {
    n = ::read(report[0], msg, sizeof msg);
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof msg)) {
    int err;
    std::memcpy(&err, msg + 1, sizeof err);
    const ErrorCode code = err == ENOENT                     ? ErrorCode::NotFound
                           : (err == EACCES || err == EPERM) ? ErrorCode::PermissionDenied
                                                             : ErrorCode::SpawnFailed;
    std::string what =
        std::string(stage_name(msg[0])) + " failed for '" + plan.path + "': " + std::strerror(err);
    if (msg[0] == kCwd) what += " (cwd " + plan.cwd + ")";
    return std::unexpected(SpawnError{code, what, pid});
  }
  return pid;
}

std::expected<pid_t, SpawnError> spawn_reaped(Reaper& reaper, const SpawnPlan& plan,
                                              Reaper::ExitCallback on_exit) {
  std::optional<SpawnError> failure;
  const pid_t pid = reaper.spawn(
      [&]() -> pid_t {
        auto r = fork_exec(plan);
        if (!r) {
          failure = r.error();
          return r.error().pid;
        }
        return *r;
      },
      std::move(on_exit));
  if (failure) return std::unexpected(std::move(*failure));
  return pid;
}

}  // namespace voidbox::agent
