// Runs a `kind: workflow` spec's steps as a DAG in one shared sandbox.
//
// A step starts when every step in its depends_on succeeded; independent
// steps run in parallel (bounded). Its stdin is the stdout of `stdin_from`,
// else of its only dependency when it has exactly one, else the run's input
// for steps without dependencies, else nothing. A step that fails or times
// out stops everything that depends on it (those are reported skipped). The
// run's output is output_step's stdout (default: the last declared step).
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "control/channel_error.hpp"
#include "control/exec_session.hpp"
#include "voidbox/events.hpp"
#include "voidbox/spec.hpp"

namespace voidbox::runtime {

using voidbox::StepResult;
using voidbox::StepStatus;

struct WorkflowResult {
  std::vector<StepResult> steps;  // declaration order
  std::string output;             // output step's stdout
  std::string output_step;
  bool success = false;
};

// Runs one command; the real one is Sandbox::exec.
using StepExecutor = std::function<std::expected<control::ExecResult, control::ChannelError>(
    const control::ExecRequest&, control::ExecOutput, std::optional<std::string> stdin_data)>;

struct WorkflowOptions {
  std::optional<std::string> input;
  unsigned max_parallel = 4;
  std::chrono::seconds default_timeout{1200};
  std::size_t max_captured_output = 64u << 20;  // per step and stream
  std::function<void(const std::string& step)> on_step_start;
  std::function<void(const StepResult&)> on_step_end;
  // Each chunk a step prints, as it arrives (on the executor's thread).
  std::function<void(const std::string& step, OutputStream, std::span<const std::uint8_t>)>
      on_output;
  // Variables added to a step's environment (called after on_step_start).
  std::function<std::map<std::string, std::string>(const std::string& step)> step_env;
};

// Fails (without running anything) only when the DAG itself is invalid:
// unknown names, a cycle, a duplicate step.
std::expected<WorkflowResult, std::string> run_workflow(const spec::Workflow& workflow,
                                                        const StepExecutor& exec,
                                                        const WorkflowOptions& options);

}  // namespace voidbox::runtime
