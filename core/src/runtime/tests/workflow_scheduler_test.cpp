// The workflow scheduler with a fake executor: ordering, parallelism, stdin
// wiring, failure propagation, validation. No sandbox involved.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "runtime/workflow_runner.hpp"

namespace voidbox::runtime {
namespace {

using namespace std::chrono_literals;

spec::Step step(std::string name, std::string program, std::vector<std::string> args = {},
                std::vector<std::string> deps = {}, std::optional<std::string> stdin_from = {}) {
  spec::Step s;
  s.name = std::move(name);
  s.run.program = std::move(program);
  s.run.args = std::move(args);
  s.run.stdin_from = std::move(stdin_from);
  s.depends_on = std::move(deps);
  return s;
}

// Fake commands: emit TEXT, cat (stdin -> stdout), fail, nap MS.
struct FakeGuest {
  std::mutex mu;
  std::vector<std::string> started;
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  std::map<std::string, std::optional<std::string>> stdin_seen;
  std::map<std::string, std::chrono::milliseconds> timeouts;
  std::condition_variable gate_cv;

  StepExecutor executor() {
    return [this](const control::ExecRequest& req, control::ExecOutput out,
                  std::optional<std::string> in)
               -> std::expected<control::ExecResult, control::ChannelError> {
      int now = ++running;
      int p = peak.load();
      while (now > p && !peak.compare_exchange_weak(p, now)) {
      }
      std::string key = req.args.empty() ? req.program : req.program + ":" + req.args.back();
      {
        std::lock_guard lock(mu);
        started.push_back(key);
        stdin_seen[key] = in;
        timeouts[key] = req.timeout;
      }
      control::ExecResult r;
      auto emit = [&](const std::string& s) {
        out.on_stdout({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
      };
      if (req.program == "emit") emit(req.args.at(0));
      if (req.program == "cat" && in) emit(*in);
      if (req.program == "fail") r.exit_code = 1;
      if (req.program == "gate") {
        // Holds until three commands have been running at once (or 5 s).
        std::unique_lock lock(mu);
        gate_cv.notify_all();
        gate_cv.wait_for(lock, 5s, [&] { return peak.load() >= 3; });
      }
      if (req.program == "nap")
        std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(req.args.at(0))));
      if (req.program == "hang") r.timed_out = true, r.exit_code = 137;
      --running;
      return r;
    };
  }
};

TEST(WorkflowScheduler, RunsDependenciesFirstAndPipesStdin) {
  spec::Workflow wf;
  wf.steps = {step("a", "emit", {"alpha"}), step("b", "cat", {}, {"a"}),
              step("c", "cat", {"c"}, {"b"})};
  FakeGuest g;
  auto r = run_workflow(wf, g.executor(), {});
  ASSERT_TRUE(r) << r.error();
  EXPECT_TRUE(r->success);
  EXPECT_EQ(g.started, (std::vector<std::string>{"emit:alpha", "cat", "cat:c"}));
  EXPECT_EQ(r->output_step, "c");  // default: the last declared step
  EXPECT_EQ(r->output, "alpha");
}

TEST(WorkflowScheduler, StdinFromNamesTheSourceAmongSeveralDependencies) {
  spec::Workflow wf;
  wf.steps = {step("x", "emit", {"from-x"}), step("y", "emit", {"from-y"}),
              step("join", "cat", {}, {"x", "y"}, "y"), step("none", "cat", {"n"}, {"x", "y"})};
  wf.output_step = "join";
  FakeGuest g;
  auto r = run_workflow(wf, g.executor(), {});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->output, "from-y");
  EXPECT_FALSE(g.stdin_seen["cat:n"].has_value());  // two deps, no stdin_from: no stdin
}

TEST(WorkflowScheduler, InputFeedsRootStepsOnly) {
  spec::Workflow wf;
  wf.steps = {step("root", "cat"), step("other-root", "emit", {"x"}),
              step("child", "cat", {"child"}, {"root", "other-root"})};
  WorkflowOptions o;
  o.input = "the input";
  FakeGuest g;
  auto r = run_workflow(wf, g.executor(), o);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(g.stdin_seen["cat"], std::optional<std::string>("the input"));
  EXPECT_FALSE(g.stdin_seen["cat:child"].has_value());
}

TEST(WorkflowScheduler, IndependentStepsRunInParallelWithinTheBound) {
  spec::Workflow wf;
  for (int i = 0; i < 8; ++i) wf.steps.push_back(step("s" + std::to_string(i), "gate"));
  FakeGuest g;
  WorkflowOptions o;
  o.max_parallel = 3;
  auto r = run_workflow(wf, g.executor(), o);
  ASSERT_TRUE(r) << r.error();
  EXPECT_TRUE(r->success);
  EXPECT_EQ(g.peak.load(), 3);  // three ran at once (the bound), never more
}

TEST(WorkflowScheduler, AFailedStepSkipsItsDependantsTransitively) {
  spec::Workflow wf;
  wf.steps = {step("bad", "fail"), step("child", "emit", {"c"}, {"bad"}),
              step("grandchild", "emit", {"g"}, {"child"}), step("free", "emit", {"f"})};
  wf.output_step = "free";
  FakeGuest g;
  auto r = run_workflow(wf, g.executor(), {});
  ASSERT_TRUE(r) << r.error();
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->steps[0].status, StepStatus::failed);
  EXPECT_EQ(r->steps[1].status, StepStatus::skipped);
  EXPECT_EQ(r->steps[2].status, StepStatus::skipped);
  EXPECT_EQ(r->steps[3].status, StepStatus::succeeded);
  EXPECT_EQ(r->output, "f");
  EXPECT_EQ(g.started.size(), 2u);
}

TEST(WorkflowScheduler, TimeoutsComeFromTheStepOrTheDefaultAndServiceHasNone) {
  spec::Workflow wf;
  wf.steps = {step("t", "emit", {"t"}), step("d", "emit", {"d"}), step("svc", "emit", {"s"}),
              step("hung", "hang", {"h"})};
  wf.steps[0].timeout_secs = 5;
  wf.steps[2].service = true;
  FakeGuest g;
  WorkflowOptions o;
  o.default_timeout = std::chrono::seconds(42);
  auto r = run_workflow(wf, g.executor(), o);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(g.timeouts["emit:t"], 5000ms);
  EXPECT_EQ(g.timeouts["emit:d"], 42000ms);
  EXPECT_EQ(g.timeouts["emit:s"], 0ms);
  EXPECT_EQ(r->steps[3].status, StepStatus::timed_out);
}

TEST(WorkflowScheduler, RejectsCyclesUnknownNamesAndDuplicates) {
  FakeGuest g;
  spec::Workflow cycle;
  cycle.steps = {step("a", "emit", {"a"}, {"b"}), step("b", "emit", {"b"}, {"a"})};
  auto r1 = run_workflow(cycle, g.executor(), {});
  ASSERT_FALSE(r1);
  EXPECT_NE(r1.error().find("cycle"), std::string::npos);
  spec::Workflow unknown;
  unknown.steps = {step("a", "emit", {"a"}, {"ghost"})};
  EXPECT_FALSE(run_workflow(unknown, g.executor(), {}));
  spec::Workflow dup;
  dup.steps = {step("a", "emit", {"a"}), step("a", "emit", {"b"})};
  EXPECT_FALSE(run_workflow(dup, g.executor(), {}));
  spec::Workflow bad_output;
  bad_output.steps = {step("a", "emit", {"a"})};
  bad_output.output_step = "nope";
  EXPECT_FALSE(run_workflow(bad_output, g.executor(), {}));
  EXPECT_TRUE(g.started.empty());
}

}  // namespace
}  // namespace voidbox::runtime
