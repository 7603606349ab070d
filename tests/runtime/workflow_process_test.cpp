// Workflows through the public Runtime, in one real sandbox on the process
// backend.
#include <gtest/gtest.h>

#include <chrono>

#include "voidbox/runtime.hpp"

namespace voidbox {
namespace {

using namespace std::chrono_literals;

spec::Step step(std::string name, std::vector<std::string> sh, std::vector<std::string> deps = {},
                std::optional<std::string> stdin_from = {}) {
  spec::Step s;
  s.name = std::move(name);
  s.run.program = sh.front();
  s.run.args.assign(sh.begin() + 1, sh.end());
  s.depends_on = std::move(deps);
  s.run.stdin_from = std::move(stdin_from);
  return s;
}

spec::RunSpec workflow(std::vector<spec::Step> steps) {
  spec::RunSpec s;
  s.kind = spec::Kind::workflow;
  s.name = "wf-test";
  s.workflow = spec::Workflow{};
  s.workflow->steps = std::move(steps);
  return s;
}

RuntimeOptions process_backend() {
  RuntimeOptions options;
  options.backend = "process";
  return options;
}

class WorkflowOnProcess : public ::testing::Test {
 protected:
  Result<RunResult> run(const spec::RunSpec& s) {
    RunObserver quiet;
    return runtime_.run(s, quiet);
  }
  Runtime runtime_{process_backend()};
};

TEST_F(WorkflowOnProcess, StepsShareOneSandboxAndPipeOutput) {
  auto r = run(workflow({step("write", {"sh", "-c", "echo shared > /tmp/wf-shared; echo produced"}),
                         step("read", {"sh", "-c", "cat /tmp/wf-shared; cat"}, {"write"}),
                         step("upper", {"tr", "a-z", "A-Z"}, {"read"})}));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->success);
  EXPECT_EQ(r->output, "SHARED\nPRODUCED\n");
}

TEST_F(WorkflowOnProcess, TimedOutStepIsKilledAndStopsDependants) {
  auto s = workflow({step("slow", {"sleep", "30"}), step("after", {"echo", "no"}, {"slow"})});
  s.workflow->steps[0].timeout_secs = 1;
  auto start = std::chrono::steady_clock::now();
  auto r = run(s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_EQ(r->steps[0].status, StepStatus::timed_out);
  EXPECT_EQ(r->steps[1].status, StepStatus::skipped);
  EXPECT_FALSE(r->success);
}

TEST_F(WorkflowOnProcess, FailedStepKeepsItsStderrAndExitCode) {
  auto r = run(workflow({step("bad", {"sh", "-c", "echo why >&2; exit 4"})}));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->steps[0].status, StepStatus::failed);
  EXPECT_EQ(r->steps[0].exit_code, 4);
  EXPECT_EQ(r->steps[0].stderr_text, "why\n");
}

TEST_F(WorkflowOnProcess, SandboxEnvReachesTheSteps) {
  auto s = workflow({step("env", {"sh", "-c", "echo \"$GREETING\""})});
  s.sandbox.env = {{"GREETING", "hello from the spec"}};
  auto r = run(s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->output, "hello from the spec\n");
}

}  // namespace
}  // namespace voidbox
