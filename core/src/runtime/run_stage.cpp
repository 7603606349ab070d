#include "runtime/kind_runner.hpp"

namespace voidbox::runtime {

std::string run_name(const spec::RunSpec& spec) {
  return spec.name.value_or("run");
}

Result<std::unique_ptr<Sandbox>> open_stage(RunContext& run, const std::string& stage) {
  return open_stage(run, stage, run.config);
}

Result<std::unique_ptr<Sandbox>> open_stage(RunContext& run, const std::string& stage,
                                            const SandboxConfig& config) {
  run.events.on_stage_started(stage);
  auto box =
      run.make_sandbox(config, [&](const std::string& warning) { run.events.on_warning(warning); });
  if (!box) return std::unexpected(box.error());
  run.events.on_sandbox_ready((*box)->info());
  return box;
}

}  // namespace voidbox::runtime
