// How a Runtime runs one kind of spec: one function per kind, listed in the
// dispatch table in runtime.cpp. A kind without a function there is
// reported as not supported.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "voidbox/events.hpp"
#include "voidbox/runtime.hpp"
#include "voidbox/sandbox.hpp"
#include "voidbox/spec.hpp"

namespace voidbox::runtime {

struct RunContext {
  const spec::RunSpec& spec;
  RunObserver& events;  // calls are serialised
  const RunOptions& options;
  // The sandbox the spec's `sandbox` block describes, with the runtime's
  // backend, kernel and state root; a runner may adjust a copy.
  SandboxConfig config;
  std::function<Result<std::unique_ptr<Sandbox>>(const SandboxConfig&, const WarningSink&)>
      make_sandbox;
  // W3C trace context for a step's command (empty: none).
  std::function<std::string(const std::string& step)> traceparent;
};

using KindRunner = Result<RunResult> (*)(RunContext&);

Result<RunResult> run_sandbox_kind(RunContext& run);
Result<RunResult> run_workflow_kind(RunContext& run);
Result<RunResult> run_agent_kind(RunContext& run);
Result<RunResult> run_pipeline_kind(RunContext& run);

// The spec's name, or "run": also the name of its single stage.
std::string run_name(const spec::RunSpec& spec);

// Starts a stage: reports it, boots its sandbox (run.config unless given;
// the backend's warnings go to the observer) and reports the sandbox ready.
Result<std::unique_ptr<Sandbox>> open_stage(RunContext& run, const std::string& stage);
Result<std::unique_ptr<Sandbox>> open_stage(RunContext& run, const std::string& stage,
                                            const SandboxConfig& config);

}  // namespace voidbox::runtime
