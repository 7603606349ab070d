// kind: workflow: the steps as a DAG in one shared sandbox.
#include <map>
#include <string>

#include "runtime/kind_runner.hpp"
#include "runtime/workflow_runner.hpp"

namespace voidbox::runtime {

Result<RunResult> run_workflow_kind(RunContext& run) {
  if (!run.spec.workflow) {
    return std::unexpected(
        Error{Error::Kind::invalid_spec, "kind workflow needs a workflow block", std::nullopt});
  }
  const std::string stage = run_name(run.spec);
  auto box = open_stage(run, stage);
  if (!box) return std::unexpected(box.error());

  WorkflowOptions options;
  options.input = run.options.input;
  options.on_step_start = [&](const std::string& step) { run.events.on_step_started(step); };
  options.on_step_end = [&](const StepResult& r) { run.events.on_step_finished(r); };
  if (run.traceparent) {
    options.step_env = [&](const std::string& step) {
      std::map<std::string, std::string> env;
      if (auto parent = run.traceparent(step); !parent.empty()) env["TRACEPARENT"] = parent;
      return env;
    };
  }
  options.on_output = [&](const std::string& step, OutputStream stream,
                          std::span<const std::uint8_t> bytes) {
    run.events.on_output({step, stream, bytes});
  };
  Sandbox& sandbox = **box;
  StepExecutor exec = [&](const ExecRequest& req, ExecOutput out,
                          std::optional<std::string> stdin_data) {
    return sandbox.exec(req, std::move(out), std::move(stdin_data));
  };
  auto done = run_workflow(*run.spec.workflow, exec, options);
  if (!done) {
    return std::unexpected(Error{Error::Kind::invalid_spec, done.error(), std::nullopt});
  }
  RunResult result;
  result.kind = spec::Kind::workflow;
  result.success = done->success;
  result.output = std::move(done->output);
  result.output_step = std::move(done->output_step);
  result.steps = std::move(done->steps);
  run.events.on_stage_finished({stage, result.success});
  run.events.on_run_finished(result);
  return result;
}

}  // namespace voidbox::runtime
