// State shared by every connection of one agent process.
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "file_ops.hpp"
#include "file_roots.hpp"
#include "policy.hpp"
#include "reaper.hpp"
#include "spawn.hpp"
#include "voidbox/protocol/handshake.hpp"

namespace voidbox::agent {

inline constexpr const char* kAgentVersion = "0.1.0";

struct AgentContext {
  bool pid1 = false;
  bool process_mode = false;
  std::string host_base = "/";  // where guest paths live (process mode: --root)
  std::optional<protocol::Secret> secret;
  std::string kernel_release;
  Identity identity;
  Policy policy;
  FileRoots roots;
  std::optional<FileOps> files;
  Reaper reaper;
  std::atomic<std::uint32_t> running_execs{0};
  std::atomic<std::uint32_t> running_ptys{0};
  std::atomic<bool> shutdown_requested{false};
  std::size_t write_queue_bytes = 8u << 20;
  std::size_t stdin_window = 8u << 20;
  std::vector<std::string> mount_errors;  // host shares that could not be mounted

  // A guest path (cwd, HOME) as seen by the agent's own filesystem.
  std::string host_path(const std::string& guest_path) const {
    if (host_base == "/" || guest_path.empty() || guest_path.front() != '/') return guest_path;
    return host_base + guest_path;
  }

  // Environment every command starts with.
  std::map<std::string, std::string> default_env() const {
    return {{"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
            {"HOME", host_path("/home/sandbox")},
            {"USER", identity.switch_user ? "sandbox" : "user"},
            {"LANG", "C.UTF-8"}};
  }
};

}  // namespace voidbox::agent
