// kind: sandbox: boot the sandbox, check that it runs a command, then hand
// it to the caller (RunOptions::hold) until it is to stop.
#include <string>

#include "runtime/kind_runner.hpp"

namespace voidbox::runtime {

Result<RunResult> run_sandbox_kind(RunContext& run) {
  const std::string stage = run_name(run.spec);
  auto box = open_stage(run, stage);
  if (!box) return std::unexpected(box.error());

  ExecRequest ready;
  ready.program = "echo";
  ready.args = {"ready"};
  std::string out;
  auto r = (*box)->exec(ready, {[&](std::span<const std::uint8_t> b) {
                                  out.append(reinterpret_cast<const char*>(b.data()), b.size());
                                },
                                {}});
  if (!r || r->exit_code != 0) {
    return std::unexpected(
        Error{Error::Kind::failed,
              "`echo ready` failed in the sandbox: " +
                  (r ? "exit " + std::to_string(r->exit_code) : r.error().message),
              std::nullopt});
  }
  RunResult result;
  result.kind = spec::Kind::sandbox;
  result.success = true;
  result.output = std::move(out);
  run.events.on_stage_finished({stage, true});
  run.events.on_run_finished(result);
  if (run.options.hold) run.options.hold(**box);
  (*box)->stop();
  return result;
}

}  // namespace voidbox::runtime
