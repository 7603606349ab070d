// What a run reports while it goes, to a RunObserver.
//
// A stage is one sandbox's worth of work: a workflow or sandbox run has one,
// named after the run. Steps are a workflow's commands. The runtime calls the
// observer from several threads (parallel steps, output readers) but never
// two calls at once, and each step's output chunks in the order they were
// produced, between its step_started and step_finished.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "voidbox/sandbox.hpp"
#include "voidbox/spec.hpp"

namespace voidbox {

enum class StepStatus { succeeded, failed, timed_out, skipped };
const char* to_string(StepStatus status);

struct StepResult {
  std::string name;
  StepStatus status = StepStatus::skipped;
  int exit_code = 0;
  std::string stdout_text;
  std::string stderr_text;
  bool output_truncated = false;
  std::uint64_t duration_ms = 0;
  std::string error;  // why it failed or was skipped
};

enum class OutputStream { stdout_stream, stderr_stream };

struct OutputChunk {
  const std::string& step;
  OutputStream stream;
  std::span<const std::uint8_t> bytes;  // valid during the call only
};

struct RunStarted {
  spec::Kind kind;
  std::string name;  // the spec's name, or "run"
};

struct StageResult {
  std::string name;
  bool success = false;
};

// kind agent and pipeline: what a stage's coding agent is doing, in the
// order it printed it (claude-code stream-json, codex --json).
struct AgentActivity {
  enum class Type { init, text, tool_use, tool_result, result, error };
  const std::string& stage;
  Type type = Type::text;
  std::string text;        // assistant text, a tool's output (truncated), the result or error
  std::string tool;        // tool_use: the tool's name; tool_result: the call's id
  std::string tool_input;  // tool_use: the input as compact JSON (truncated)
  std::string model;       // init
  std::string session_id;  // init
  bool is_error = false;   // tool_result, result
};
const char* to_string(AgentActivity::Type type);

// One agent stage's typed result.
struct AgentOutcome {
  std::string stage;
  bool success = false;  // the agent reported success and nothing else failed
  std::string error;     // why not: the agent's error, a timeout, a provisioning failure
  std::string result_text;
  std::string model;
  std::string session_id;
  std::string subtype;  // claude: success, error_max_turns, ...
  double cost_usd = 0;
  std::uint64_t duration_ms = 0;  // as the agent reports it
  std::uint64_t duration_api_ms = 0;
  std::uint64_t turns = 0;
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  std::vector<std::string> tool_calls;  // tool names, in call order
  std::string output;                   // the output_file's content ("" when it was not written)
  bool output_written = false;
};

struct RunResult {
  spec::Kind kind = spec::Kind::workflow;
  bool success = false;
  // workflow: the output step's stdout; sandbox: the ready probe's; agent:
  // the output_file if written, else the agent's result text.
  std::string output;
  std::string output_step;           // workflow only
  std::vector<StepResult> steps;     // workflow: every step, in declaration order
  std::vector<AgentOutcome> agents;  // agent: one; pipeline: one per box, in stage order
  std::string outputs_dir;           // pipeline: where the named box outputs are ("" if none)
};

// Every event has an empty default, so an observer overrides what it shows.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void on_run_started(const RunStarted&) {}
  virtual void on_warning(const std::string&) {}
  virtual void on_stage_started(const std::string& /*stage*/) {}
  virtual void on_sandbox_ready(const SandboxInfo&) {}
  virtual void on_step_started(const std::string& /*step*/) {}
  virtual void on_output(const OutputChunk&) {}
  virtual void on_step_finished(const StepResult&) {}
  virtual void on_agent_activity(const AgentActivity&) {}
  virtual void on_stage_finished(const StageResult&) {}
  // Once, when the run produced a result; a run() that returns an Error
  // reports none.
  virtual void on_run_finished(const RunResult&) {}
};

}  // namespace voidbox
