// Where a flavor's read-only agent disk is on the host (built by
// scripts/build-agent-disk.sh or `voidbox image build claude|codex`):
//   $VOIDBOX_AGENT_DISK_<FLAVOR> (e.g. VOIDBOX_AGENT_DISK_CLAUDE), else the
//   newest <flavor>-<version>.ext4 in ${VOIDBOX_CACHE_DIR:-~/.cache/voidbox}/agents.
#pragma once

#include <expected>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "agent/agent_result.hpp"

namespace voidbox::agent {

// Where the runtime mounts the disk in the guest; its bin/ goes on PATH.
inline constexpr const char* kAgentDiskMount = "/opt/voidbox/agent";

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// An error names the directory searched and the command that builds the disk.
std::expected<std::filesystem::path, std::string> find_agent_disk(Flavor flavor,
                                                                  const EnvLookup& env);

}  // namespace voidbox::agent
