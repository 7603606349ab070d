// One coding agent in one fresh VM, as kind agent runs it and as each box of
// a pipeline will: the provider resolved, a per-run credential proxy started
// when the key can stay on the host, the flavor's agent disk attached
// read-only, the provisioning plan carried out over the control channel,
// the agent's output streamed as AgentActivity events, and its typed result
// (with the output_file read back). The VM is stopped before this returns.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "runtime/kind_runner.hpp"

namespace voidbox::runtime {

struct AgentBoxRequest {
  std::string stage;
  SandboxConfig sandbox;  // the box's own; networking and the agent disk are added
  spec::Llm llm;
  std::string prompt;
  std::vector<spec::Skill> skills;
  std::filesystem::path spec_dir;  // file skills are relative to it
  std::optional<std::uint64_t> timeout_secs;
  std::optional<std::string> output_file;
  std::optional<std::string> input;  // the previous stage's output
  spec::AgentMode mode = spec::AgentMode::task;
};

// An Error when the box could not run at all (bad llm block, no agent disk,
// the VM did not boot); an AgentOutcome with success == false when the agent
// ran and failed, timed out or reported an error.
Result<AgentOutcome> run_agent_box(RunContext& run, const AgentBoxRequest& request);

}  // namespace voidbox::runtime
