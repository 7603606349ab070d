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

struct RunResult {
  spec::Kind kind = spec::Kind::workflow;
  bool success = false;
  std::string output;             // workflow: the output step's stdout; sandbox: the ready probe's
  std::string output_step;        // workflow only
  std::vector<StepResult> steps;  // workflow: every step, in declaration order
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
  virtual void on_stage_finished(const StageResult&) {}
  // Once, when the run produced a result; a run() that returns an Error
  // reports none.
  virtual void on_run_finished(const RunResult&) {}
};

}  // namespace voidbox
