// Work to do inside the guest, as data: the files to write and the commands to
// run, in order. The runtime executes it over the control channel; keeping it
// data lets the order and contents be unit-tested without a VM.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace voidbox::agent {

// The unprivileged user the guest agent runs commands as.
inline constexpr std::uint32_t kSandboxUid = 1000;
inline constexpr std::uint32_t kSandboxGid = 1000;
inline constexpr const char* kSandboxHome = "/home/sandbox";

struct GuestFile {
  std::string path;  // absolute guest path; parent directories are created
  std::string content;
  std::uint32_t mode = 0644;
  bool sandbox_owned = false;  // chown to the sandbox user (the agent must write it)
  bool secret = false;         // content must never be logged or echoed
};

struct GuestCommand {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  bool background = false;  // started and left running (an MCP server)
  // Background only: the command's TCP port on 127.0.0.1 in the guest; the
  // runtime waits until it accepts connections instead of sleeping.
  std::uint16_t ready_port = 0;
  // Foreground only: a non-zero exit fails the run with this message.
  std::string failure_message;
};

// One provisioning step. `policy` is where the runtime pushes its command
// allowlist and rlimits (it owns them); file and command carry their data.
struct GuestStep {
  enum class Kind { policy, file, command };
  Kind kind = Kind::file;
  GuestFile file;
  GuestCommand command;
  std::string why;  // shown in progress output: "skill 'x'", "claude onboarding", ...
};

}  // namespace voidbox::agent
