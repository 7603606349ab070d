// Finds the voidbox-guest-agent executable the process backend runs.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace voidbox::process_backend {

// Where we looked, in order, so a failure can name every candidate.
struct AgentSearch {
  std::optional<std::string> found;
  std::vector<std::string> tried;
};

// Order: $VOIDBOX_GUEST_AGENT; next to this plugin (build tree:
// lib/voidbox/plugins -> bin; install tree: lib/voidbox/plugins ->
// libexec/voidbox and bin); next to the running executable; the build tree
// in $VOIDBOX_BUILD_DIR.
AgentSearch locate_guest_agent();

}  // namespace voidbox::process_backend
