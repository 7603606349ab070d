// Exec policy the host can change at any time: the command allowlist and the
// resource limits. Readers take a snapshot per exec, so an update applies to
// the next exec at once and never to a running one.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "voidbox/protocol/messages.hpp"

namespace voidbox::agent {

struct ExecLimits {
  std::uint64_t nofile = 1024;
  std::uint64_t nproc = 512;
  std::uint64_t fsize_bytes = 1ull << 30;  // 1 GiB
  std::uint32_t max_execs = 32;
  std::uint32_t max_ptys = 4;
};

// Entries with a '/' match one absolute path exactly; other entries match the
// basename of the resolved program. An empty list allows everything.
class Allowlist {
 public:
  void set(std::vector<std::string> commands);
  // program: as requested; resolved: the absolute path that would be executed.
  bool allows(std::string_view program, std::string_view resolved) const;
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> commands_;
};

class Policy {
 public:
  Allowlist& allowlist() { return allowlist_; }
  const Allowlist& allowlist() const { return allowlist_; }
  ExecLimits limits() const;
  // Applies the present fields; rejects zero concurrency limits.
  bool update_limits(const protocol::Limits& changes, std::string& error);
  protocol::Limits limits_message() const;

 private:
  Allowlist allowlist_;
  mutable std::mutex mu_;
  ExecLimits limits_;
};

}  // namespace voidbox::agent
