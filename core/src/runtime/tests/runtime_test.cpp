// The Runtime's dispatch of every spec kind, driven with a fake sandbox
// factory: no VM and no process is started.
#include "voidbox/runtime.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <vector>

#include "fake_sandbox.hpp"

namespace voidbox {
namespace {

using testing::FakeLog;
using testing::FakeRuntime;
using testing::FakeSandbox;

// Every event as one line, in the order the observer saw them.
class Recorder final : public RunObserver {
 public:
  std::vector<std::string> events;

  void on_run_started(const RunStarted& e) override { add("run_started " + e.name); }
  void on_warning(const std::string& w) override { add("warning " + w); }
  void on_stage_started(const std::string& s) override { add("stage_started " + s); }
  void on_sandbox_ready(const SandboxInfo& i) override { add("sandbox_ready " + i.backend); }
  void on_step_started(const std::string& s) override { add("step_started " + s); }
  void on_output(const OutputChunk& c) override {
    add("output " + c.step + (c.stream == OutputStream::stdout_stream ? " out " : " err ") +
        std::string(reinterpret_cast<const char*>(c.bytes.data()), c.bytes.size()));
  }
  void on_step_finished(const StepResult& r) override {
    add("step_finished " + r.name + " " + to_string(r.status));
  }
  void on_stage_finished(const StageResult& r) override {
    add("stage_finished " + r.name + (r.success ? " ok" : " failed"));
  }
  void on_run_finished(const RunResult& r) override {
    add(std::string("run_finished ") + (r.success ? "ok" : "failed"));
  }

  // The events that start with `prefix`, in order.
  std::vector<std::string> only(const std::string& prefix) const {
    std::vector<std::string> out;
    for (const auto& e : events) {
      if (e.starts_with(prefix)) out.push_back(e);
    }
    return out;
  }

 private:
  void add(std::string e) { events.push_back(std::move(e)); }
};

spec::Step step(std::string name, std::string program, std::vector<std::string> args = {},
                std::vector<std::string> deps = {}) {
  spec::Step s;
  s.name = std::move(name);
  s.run.program = std::move(program);
  s.run.args = std::move(args);
  s.depends_on = std::move(deps);
  return s;
}

spec::RunSpec workflow_spec(std::vector<spec::Step> steps) {
  spec::RunSpec s;
  s.kind = spec::Kind::workflow;
  s.name = "wf";
  s.workflow = spec::Workflow{};
  s.workflow->steps = std::move(steps);
  return s;
}

TEST(RuntimeDispatch, SandboxKindProbesTheSandboxHoldsItAndThenStopsIt) {
  FakeRuntime fake;
  spec::RunSpec s;
  s.kind = spec::Kind::sandbox;
  s.name = "box";
  Recorder seen;
  bool stopped_while_held = true;
  RunOptions options;
  options.hold = [&](Sandbox& box) {
    seen.events.push_back("hold " + box.info().backend);
    stopped_while_held = fake.log->stopped;
  };
  auto r = fake.runtime.run(s, seen, options);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->success);
  EXPECT_EQ(r->kind, spec::Kind::sandbox);
  EXPECT_EQ(r->output, "ready\n");
  EXPECT_EQ(seen.events,
            (std::vector<std::string>{"run_started box", "stage_started box", "sandbox_ready fake",
                                      "stage_finished box ok", "run_finished ok", "hold fake"}));
  EXPECT_FALSE(stopped_while_held);
  EXPECT_TRUE(fake.log->stopped);
  ASSERT_EQ(fake.log->execs.size(), 1u);
  EXPECT_EQ(fake.log->execs[0].program, "echo");
}

TEST(RuntimeDispatch, WorkflowRunsStepsInDependencyOrderAndStreamsTheirOutputInOrder) {
  FakeRuntime fake;
  // Declared out of order: c needs b, b needs a.
  auto s = workflow_spec({step("c", "cat", {}, {"b"}), step("a", "emit", {"x", "y", "z"}),
                          step("b", "cat", {}, {"a"})});
  s.workflow->output_step = "c";
  Recorder seen;
  auto r = fake.runtime.run(s, seen);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->success);
  EXPECT_EQ(r->output, "xyz");
  EXPECT_EQ(r->output_step, "c");
  EXPECT_EQ(seen.events,
            (std::vector<std::string>{
                "run_started wf", "stage_started wf", "sandbox_ready fake", "step_started a",
                "output a out x", "output a out y", "output a out z", "step_finished a succeeded",
                "step_started b", "output b out xyz", "step_finished b succeeded", "step_started c",
                "output c out xyz", "step_finished c succeeded", "stage_finished wf ok",
                "run_finished ok"}));
  ASSERT_EQ(r->steps.size(), 3u);
  EXPECT_EQ(r->steps[0].name, "c");  // declaration order
  // One sandbox for the whole workflow, stopped when it ended.
  EXPECT_EQ(fake.log->created.size(), 1u);
  EXPECT_TRUE(fake.log->stopped);
}

TEST(RuntimeDispatch, AFailedStepSkipsWhatDependsOnItAndFailsTheRun) {
  FakeRuntime fake;
  auto s = workflow_spec({step("broken", "fail", {"broken-stderr\n"}),
                          step("after", "echo", {"must not run"}, {"broken"}),
                          step("after-after", "echo", {"nor this"}, {"after"})});
  Recorder seen;
  auto r = fake.runtime.run(s, seen);
  ASSERT_TRUE(r) << r.error().message;  // failed steps are a result, not an Error
  EXPECT_FALSE(r->success);
  ASSERT_EQ(r->steps.size(), 3u);
  EXPECT_EQ(r->steps[0].status, StepStatus::failed);
  EXPECT_EQ(r->steps[0].exit_code, 3);
  EXPECT_EQ(r->steps[1].status, StepStatus::skipped);
  EXPECT_EQ(r->steps[2].status, StepStatus::skipped);
  EXPECT_EQ(fake.log->execs.size(), 1u) << "a skipped step ran";
  EXPECT_EQ(seen.only("output"), (std::vector<std::string>{"output broken err broken-stderr\n"}));
  EXPECT_EQ(seen.only("step_finished"),
            (std::vector<std::string>{"step_finished broken failed", "step_finished after skipped",
                                      "step_finished after-after skipped"}));
  EXPECT_EQ(seen.only("run_finished"), (std::vector<std::string>{"run_finished failed"}));
  EXPECT_EQ(seen.only("stage_finished"), (std::vector<std::string>{"stage_finished wf failed"}));
}

TEST(RuntimeDispatch, TheSandboxBlockAndHostEnvMapToTheSandboxAndItsCommands) {
  ::setenv("VOIDBOX_RT_TEST_FROM_HOST", "host value", 1);
  ::unsetenv("VOIDBOX_RT_TEST_NOT_ON_HOST");
  RuntimeOptions options;
  options.backend = "process";
  options.state_root = "/tmp/voidbox-rt-test-root";
  FakeRuntime fake(options);
  auto s = workflow_spec({step("explicit", "printenv", {"EXPLICIT"}),
                          step("copied", "printenv", {"VOIDBOX_RT_TEST_FROM_HOST"}, {"explicit"}),
                          step("absent", "printenv", {"VOIDBOX_RT_TEST_NOT_ON_HOST"}, {"copied"})});
  s.sandbox.env = {{"EXPLICIT", "from spec"},
                   {"VOIDBOX_RT_TEST_FROM_HOST", ""},
                   {"VOIDBOX_RT_TEST_NOT_ON_HOST", ""}};
  s.sandbox.memory_mb = 2048;
  s.sandbox.vcpus = 3;
  s.sandbox.network.enabled = true;
  s.sandbox.mode = spec::SandboxMode::local;
  s.sandbox.kernel = "/spec/vmlinux";
  Recorder seen;
  auto r = fake.runtime.run(s, seen);
  ::unsetenv("VOIDBOX_RT_TEST_FROM_HOST");
  ASSERT_TRUE(r) << r.error().message;

  ASSERT_EQ(fake.log->created.size(), 1u);
  const SandboxConfig& c = fake.log->created[0];
  EXPECT_EQ(c.name, "wf");
  EXPECT_EQ(c.backend, "process");
  EXPECT_EQ(c.memory_mb, 2048u);
  EXPECT_EQ(c.vcpus, 3u);
  EXPECT_TRUE(c.network.enabled);
  EXPECT_EQ(c.mode, spec::SandboxMode::local);
  EXPECT_EQ(c.kernel, std::optional<std::string>("/spec/vmlinux"));
  EXPECT_FALSE(c.initramfs);
  EXPECT_EQ(c.state_root, std::optional<std::filesystem::path>("/tmp/voidbox-rt-test-root"));
  EXPECT_EQ(c.env, (std::map<std::string, std::string>{
                       {"EXPLICIT", "from spec"}, {"VOIDBOX_RT_TEST_FROM_HOST", "host value"}}));
  // What the commands saw.
  EXPECT_EQ(seen.only("output"), (std::vector<std::string>{"output explicit out from spec\n",
                                                           "output copied out host value\n"}));
  EXPECT_EQ(r->steps[2].status, StepStatus::failed);  // not on the host: not set at all
}

TEST(RuntimeDispatch, RuntimeKernelAndInitramfsOverrideTheSpecs) {
  RuntimeOptions options;
  options.kernel = "/flag/vmlinux";
  options.initramfs = "/flag/initramfs";
  FakeRuntime fake(options);
  auto s = workflow_spec({step("a", "echo", {"hi"})});
  s.sandbox.kernel = "/spec/vmlinux";
  Recorder seen;
  ASSERT_TRUE(fake.runtime.run(s, seen));
  ASSERT_EQ(fake.log->created.size(), 1u);
  EXPECT_EQ(fake.log->created[0].kernel, std::optional<std::string>("/flag/vmlinux"));
  EXPECT_EQ(fake.log->created[0].initramfs, std::optional<std::string>("/flag/initramfs"));
  EXPECT_EQ(fake.log->created[0].backend, "auto");
}

TEST(RuntimeDispatch, IgnoredFieldsAndTheBackendsWarningsReachTheObserverInOrder) {
  FakeRuntime fake;
  fake.backend_warning = "NO VM: falling back";
  auto s = workflow_spec({step("a", "echo", {"hi"})});
  s.sandbox.mounts = {spec::Mount{"/host", "/guest", true}};
  s.sandbox.image = "alpine:3";
  s.sandbox.snapshot = "snap-1";
  Recorder seen;
  ASSERT_TRUE(fake.runtime.run(s, seen));
  ASSERT_GE(seen.events.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(seen.events.begin(), seen.events.begin() + 5),
            (std::vector<std::string>{
                "run_started wf", "warning sandbox.snapshot is not supported yet; ignored",
                "stage_started wf", "warning NO VM: falling back", "sandbox_ready fake"}));
  // Mounts and the image are not ignored: they reach the sandbox's config.
  ASSERT_EQ(fake.log->created.size(), 1u);
  ASSERT_EQ(fake.log->created[0].mounts.size(), 1u);
  EXPECT_EQ(fake.log->created[0].mounts[0].guest, "/guest");
  EXPECT_EQ(fake.log->created[0].image, std::optional<std::string>("alpine:3"));
}

TEST(RuntimeDispatch, ASandboxThatCannotBeMadeIsTheRunsError) {
  FakeRuntime fake;
  fake.refuse = Error{Error::Kind::sandbox, "backend 'kvm' cannot run here", std::nullopt};
  for (auto kind : {spec::Kind::workflow, spec::Kind::sandbox}) {
    auto s = workflow_spec({step("a", "echo", {"hi"})});
    s.kind = kind;
    Recorder seen;
    auto r = fake.runtime.run(s, seen);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, Error::Kind::sandbox);
    EXPECT_EQ(r.error().message, "backend 'kvm' cannot run here");
    EXPECT_TRUE(seen.only("run_finished").empty());
    EXPECT_TRUE(seen.only("step_started").empty());
  }
}

TEST(RuntimeDispatch, AWorkflowWithoutStepsOrWithACycleIsAnInvalidSpec) {
  FakeRuntime fake;
  spec::RunSpec missing;
  missing.kind = spec::Kind::workflow;
  Recorder seen;
  auto r = fake.runtime.run(missing, seen);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Error::Kind::invalid_spec);
  EXPECT_TRUE(fake.log->created.empty()) << "booted a sandbox for a spec that cannot run";

  auto cycle = workflow_spec({step("a", "echo", {}, {"b"}), step("b", "echo", {}, {"a"})});
  auto c = fake.runtime.run(cycle, seen);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().kind, Error::Kind::invalid_spec);
  EXPECT_NE(c.error().message.find("cycle"), std::string::npos) << c.error().message;
  EXPECT_TRUE(fake.log->execs.empty());
}

TEST(RuntimeSandboxes, UnsetFieldsComeFromTheRuntimeSetOnesStay) {
  RuntimeOptions options;
  options.backend = "process";
  options.kernel = "/flag/vmlinux";
  options.state_root = "/tmp/voidbox-rt-test-root";
  FakeRuntime fake(options);
  SandboxConfig mine;
  mine.name = "mine";
  mine.initramfs = "/mine/initramfs";
  auto box = fake.runtime.create_sandbox(mine);
  ASSERT_TRUE(box) << box.error().message;
  mine.backend = "kvm";
  mine.kernel = "/mine/vmlinux";
  ASSERT_TRUE(fake.runtime.create_sandbox(mine));
  ASSERT_EQ(fake.log->created.size(), 2u);
  EXPECT_EQ(fake.log->created[0].backend, "process");
  EXPECT_EQ(fake.log->created[0].kernel, std::optional<std::string>("/flag/vmlinux"));
  EXPECT_EQ(fake.log->created[0].initramfs, std::optional<std::string>("/mine/initramfs"));
  EXPECT_EQ(fake.log->created[0].state_root,
            std::optional<std::filesystem::path>("/tmp/voidbox-rt-test-root"));
  EXPECT_EQ(fake.log->created[1].backend, "kvm");
  EXPECT_EQ(fake.log->created[1].kernel, std::optional<std::string>("/mine/vmlinux"));
}

TEST(RuntimeSandboxes, ASpecsSandboxBlockMakesTheSandbox) {
  FakeRuntime fake;
  spec::RunSpec s;
  s.kind = spec::Kind::sandbox;
  s.sandbox.memory_mb = 512;
  s.sandbox.env = {{"K", "v"}};
  auto box = fake.runtime.create_sandbox(s);
  ASSERT_TRUE(box) << box.error().message;
  ASSERT_EQ(fake.log->created.size(), 1u);
  EXPECT_EQ(fake.log->created[0].name, "run");
  EXPECT_EQ(fake.log->created[0].memory_mb, 512u);
  ExecRequest printenv;
  printenv.program = "printenv";
  printenv.args = {"K"};
  auto r = (*box)->exec(printenv);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_code, 0);
}

}  // namespace
}  // namespace voidbox
