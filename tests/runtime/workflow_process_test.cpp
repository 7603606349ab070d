// Workflows in one real sandbox on the process backend.
#include <gtest/gtest.h>

#include <chrono>

#include "runtime/sandbox.hpp"
#include "runtime/workflow_runner.hpp"
#include "voidbox/plugin/registry.hpp"

namespace voidbox::runtime {
namespace {

using namespace std::chrono_literals;

class WorkflowOnProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.load_default();
    SandboxConfig c;
    c.name = "wf-test";
    c.backend = "process";
    auto box = Sandbox::create(c, registry_, {});
    ASSERT_TRUE(box) << box.error();
    box_ = std::move(*box);
  }
  StepExecutor exec() {
    return [this](const control::ExecRequest& r, control::ExecOutput o,
                  std::optional<std::string> in) {
      return box_->channel().exec(r, std::move(o), std::move(in));
    };
  }
  plugin::Registry registry_;
  std::unique_ptr<Sandbox> box_;
};

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

TEST_F(WorkflowOnProcess, StepsShareOneSandboxAndPipeOutput) {
  spec::Workflow wf;
  wf.steps = {step("write", {"sh", "-c", "echo shared > /tmp/wf-shared; echo produced"}),
              step("read", {"sh", "-c", "cat /tmp/wf-shared; cat"}, {"write"}),
              step("upper", {"tr", "a-z", "A-Z"}, {"read"})};
  auto r = run_workflow(wf, exec(), {});
  ASSERT_TRUE(r) << r.error();
  EXPECT_TRUE(r->success);
  EXPECT_EQ(r->output, "SHARED\nPRODUCED\n");
}

TEST_F(WorkflowOnProcess, TimedOutStepIsKilledAndStopsDependants) {
  spec::Workflow wf;
  wf.steps = {step("slow", {"sleep", "30"}), step("after", {"echo", "no"}, {"slow"})};
  wf.steps[0].timeout_secs = 1;
  auto start = std::chrono::steady_clock::now();
  auto r = run_workflow(wf, exec(), {});
  ASSERT_TRUE(r) << r.error();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_EQ(r->steps[0].status, StepStatus::timed_out);
  EXPECT_EQ(r->steps[1].status, StepStatus::skipped);
  EXPECT_FALSE(r->success);
}

TEST_F(WorkflowOnProcess, FailedStepKeepsItsStderrAndExitCode) {
  spec::Workflow wf;
  wf.steps = {step("bad", {"sh", "-c", "echo why >&2; exit 4"})};
  auto r = run_workflow(wf, exec(), {});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->steps[0].status, StepStatus::failed);
  EXPECT_EQ(r->steps[0].exit_code, 4);
  EXPECT_EQ(r->steps[0].stderr_text, "why\n");
}

}  // namespace
}  // namespace voidbox::runtime
