// Starts the guest agent as a child in fresh Linux namespaces.
//
// This is confinement for tidiness (own pid/mount/net/uts view, everything
// killed with the agent), NOT a security boundary: no seccomp, shared kernel,
// shared filesystem.
#pragma once

#include <sys/types.h>

#include <expected>
#include <string>
#include <vector>

namespace voidbox::process_backend {

struct SpawnPlan {
  std::string program;
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // KEY=VALUE, the child's whole environment
  std::string log_path;           // agent stdout+stderr
  std::string working_dir;
  int pass_fd = -1;  // if >= 0: becomes fd 3 in the child (e.g. a readiness pipe)
};

struct Spawned {
  pid_t pid = -1;
  int pidfd = -1;              // owned by the caller
  bool pid_namespace = false;  // killing pid kills everything it started
  std::string namespaces;      // e.g. "user,mount,pid,net,uts"
  std::string fallback_note;   // why fewer namespaces than asked, "" if none
};

std::expected<Spawned, std::string> spawn_confined(const SpawnPlan& plan);

}  // namespace voidbox::process_backend
