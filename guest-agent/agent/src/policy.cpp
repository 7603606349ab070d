#include "policy.hpp"

namespace voidbox::agent {

namespace {
std::string_view basename_of(std::string_view p) {
  const auto slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}
}  // namespace

void Allowlist::set(std::vector<std::string> commands) {
  std::erase_if(commands, [](const std::string& c) { return c.empty(); });
  std::lock_guard lock(mu_);
  commands_ = std::move(commands);
}

bool Allowlist::allows(std::string_view program, std::string_view resolved) const {
  std::lock_guard lock(mu_);
  if (commands_.empty()) return true;
  for (const auto& rule : commands_) {
    if (rule.find('/') != std::string::npos) {
      if (rule == resolved || rule == program) return true;
    } else if (rule == basename_of(resolved) || rule == basename_of(program)) {
      return true;
    }
  }
  return false;
}

std::size_t Allowlist::size() const {
  std::lock_guard lock(mu_);
  return commands_.size();
}

ExecLimits Policy::limits() const {
  std::lock_guard lock(mu_);
  return limits_;
}

bool Policy::update_limits(const protocol::Limits& c, std::string& error) {
  if ((c.max_execs && *c.max_execs == 0) || (c.max_ptys && *c.max_ptys == 0)) {
    error = "max_execs and max_ptys must be at least 1";
    return false;
  }
  if ((c.nofile && *c.nofile < 16) || (c.nproc && *c.nproc < 1)) {
    error = "nofile must be at least 16 and nproc at least 1";
    return false;
  }
  std::lock_guard lock(mu_);
  if (c.nofile) limits_.nofile = *c.nofile;
  if (c.nproc) limits_.nproc = *c.nproc;
  if (c.fsize_bytes) limits_.fsize_bytes = *c.fsize_bytes;
  if (c.max_execs) limits_.max_execs = *c.max_execs;
  if (c.max_ptys) limits_.max_ptys = *c.max_ptys;
  return true;
}

protocol::Limits Policy::limits_message() const {
  const ExecLimits l = limits();
  protocol::Limits m;
  m.nofile = l.nofile;
  m.nproc = l.nproc;
  m.fsize_bytes = l.fsize_bytes;
  m.max_execs = l.max_execs;
  m.max_ptys = l.max_ptys;
  return m;
}

}  // namespace voidbox::agent
