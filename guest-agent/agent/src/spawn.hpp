// Starting a child for an exec or a pty: everything that allocates happens
// before fork(); the child only makes async-signal-safe calls, then reports a
// failed exec through a close-on-exec pipe.
#pragma once

#include <sys/types.h>

#include <expected>
#include <map>
#include <string>
#include <vector>

#include "policy.hpp"
#include "reaper.hpp"
#include "voidbox/protocol/messages.hpp"

namespace voidbox::agent {

struct Identity {
  bool switch_user = false;  // setgroups/setgid/setuid to uid:gid in the child
  uid_t uid = 0;
  gid_t gid = 0;
};

struct SpawnPlan {
  std::string path;  // absolute or relative-with-slash program path
  std::vector<std::string> argv;
  std::vector<std::string> envp;  // "K=V"
  std::string cwd;
  int stdin_fd = -1;  // dup2'ed to 0/1/2 in the child
  int stdout_fd = -1;
  int stderr_fd = -1;
  bool controlling_tty = false;  // stdin_fd is a pty slave to make the controlling tty
  Identity identity;
  ExecLimits limits;
};

struct SpawnError {
  protocol::ErrorCode code;
  std::string message;
  pid_t pid = -1;  // the child, when one was forked before the failure
};

// Looks program up like execvp: names with a '/' are used as given, others are
// searched in path_var. Returns the path of an executable regular file.
std::expected<std::string, SpawnError> resolve_program(const std::string& program,
                                                       const std::string& path_var);

// Default environment for commands, overridden by the request's entries.
std::vector<std::string> build_env(const std::map<std::string, std::string>& defaults,
                                   const std::map<std::string, std::string>& request);

// Forks and execs plan in a new session (so the child leads its own process
// group). Must run inside Reaper::spawn's callback. On success returns the
// pid; exec failures come back as errors after the child has exited.
std::expected<pid_t, SpawnError> fork_exec(const SpawnPlan& plan);

// fork_exec(plan) under reaper.spawn, which reports the child's exit to
// on_exit. A child forked before a failure is still registered by its pid,
// so the reaper collects it and it never lingers as a zombie.
std::expected<pid_t, SpawnError> spawn_reaped(Reaper& reaper, const SpawnPlan& plan,
                                              Reaper::ExitCallback on_exit);

}  // namespace voidbox::agent
