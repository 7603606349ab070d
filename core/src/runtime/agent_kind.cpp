// kind: agent: one coding agent in one VM (see agent_box.hpp).
#include <filesystem>
#include <string>

#include "runtime/agent_box.hpp"
#include "runtime/kind_runner.hpp"

namespace voidbox::runtime {

Result<RunResult> run_agent_kind(RunContext& run) {
  const spec::RunSpec& spec = run.spec;
  if (!spec.agent || !spec.agent->prompt || spec.agent->prompt->empty()) {
    return std::unexpected(
        Error{Error::Kind::invalid_spec, "kind agent needs agent.prompt", std::nullopt});
  }
  if (spec.agent->mode == spec::AgentMode::interactive) {
    return std::unexpected(
        Error{Error::Kind::not_supported,
              "agent.mode interactive is not supported yet (task and service are)", std::nullopt});
  }
  AgentBoxRequest request;
  request.stage = run_name(spec);
  request.sandbox = run.config;
  request.llm = spec.llm.value_or(spec::Llm{});
  request.prompt = *spec.agent->prompt;
  request.skills = spec.agent->skills;
  request.spec_dir = spec.source_path.empty()
                         ? std::filesystem::current_path()
                         : std::filesystem::absolute(spec.source_path).parent_path();
  request.timeout_secs = spec.agent->timeout_secs;
  request.output_file = spec.agent->output_file;
  request.input = run.options.input;
  request.mode = spec.agent->mode;

  auto outcome = run_agent_box(run, request);
  if (!outcome) return std::unexpected(outcome.error());
  RunResult result;
  result.kind = spec::Kind::agent;
  result.success = outcome->success;
  result.output = outcome->output_written ? outcome->output : outcome->result_text;
  result.agents.push_back(std::move(*outcome));
  run.events.on_run_finished(result);
  return result;
}

}  // namespace voidbox::runtime
