// kind: pipeline against fake sandboxes: one sandbox per box, outputs passed
// between stages (fan-out outputs merged as a JSON array), named outputs as
// host directories mounted into later boxes, and the first failure ending
// the pipeline.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fake_sandbox.hpp"
#include "voidbox/runtime.hpp"

namespace voidbox {
namespace {

using testing::FakeRuntime;
using testing::ScriptedProgram;

constexpr const char* kClaude = "/opt/voidbox/agent/bin/claude";

class Seen final : public RunObserver {
 public:
  std::vector<std::string> warnings;
  std::vector<std::string> stages;
  void on_warning(const std::string& w) override { warnings.push_back(w); }
  void on_stage_finished(const StageResult& r) override {
    stages.push_back(r.name + (r.success ? " ok" : " failed"));
  }
};

// A claude run that writes `output` to the output file and reports success.
ScriptedProgram writes(const std::string& output) {
  ScriptedProgram p;
  p.stdout_chunks = {
      R"({"type":"result","subtype":"success","is_error":false,"num_turns":1,"result":"ok",)"
      R"("usage":{"input_tokens":10,"output_tokens":2},"total_cost_usd":0.5})"
      "\n"};
  p.writes["/workspace/output.json"] = output;
  return p;
}

spec::Box box(const std::string& name) {
  spec::Box b;
  b.name = name;
  b.prompt = "work as " + name;
  return b;
}

spec::Stage fan_out(std::vector<std::string> boxes) {
  spec::Stage s;
  s.type = spec::Stage::Type::fan_out;
  s.boxes = std::move(boxes);
  return s;
}

spec::Stage one(const std::string& name) {
  spec::Stage s;
  s.type = spec::Stage::Type::box;
  s.name = name;
  return s;
}

class PipelineKind : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vb-pipeline-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "claude.ext4") << "disk";
    ::setenv("VOIDBOX_AGENT_DISK_CLAUDE", (dir_ / "claude.ext4").c_str(), 1);
    ::setenv("ANTHROPIC_API_KEY", "sk-unit", 1);
    options_.run_dir = dir_ / "run";
  }
  void TearDown() override {
    ::unsetenv("VOIDBOX_AGENT_DISK_CLAUDE");
    ::unsetenv("ANTHROPIC_API_KEY");
    ::unsetenv("VOIDBOX_MAX_PARALLEL_BOXES");
    std::filesystem::remove_all(dir_);
  }

  static spec::RunSpec pipeline(std::vector<spec::Box> boxes, std::vector<spec::Stage> stages) {
    spec::RunSpec s;
    s.kind = spec::Kind::pipeline;
    s.name = "pipe";
    s.llm = spec::Llm{};
    s.pipeline = spec::Pipeline{std::move(boxes), std::move(stages)};
    return s;
  }

  // The prompt the agent of sandbox `name` was started with.
  static std::string prompt_of(FakeRuntime& fake, const std::string& name) {
    for (std::size_t i = 0; i < fake.log->execs.size(); ++i) {
      const auto& e = fake.log->execs[i];
      if (e.program == kClaude && e.env.count("VB_BOX") && e.env.at("VB_BOX") == name) {
        return e.args.at(1);
      }
    }
    return "";
  }

  std::filesystem::path dir_;
  RunOptions options_;
};

TEST_F(PipelineKind, BoxesInOrderEachGetTheOutputBefore) {
  FakeRuntime fake;
  fake.log->scripted[std::string("first:") + kClaude] = writes(R"({"n":1})");
  fake.log->scripted[std::string("second:") + kClaude] = writes("final text");
  auto s = pipeline({box("first"), box("second")}, {});
  s.pipeline->boxes[0].sandbox = spec::BoxSandbox{};
  s.pipeline->boxes[0].sandbox->env = {{"VB_BOX", "first"}};
  s.pipeline->boxes[1].sandbox = spec::BoxSandbox{};
  s.pipeline->boxes[1].sandbox->env = {{"VB_BOX", "second"}};
  s.pipeline->boxes[1].sandbox->memory_mb = 2048;
  Seen seen;
  auto r = fake.runtime.run(s, seen, options_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->success);
  EXPECT_EQ(r->output, "final text");
  ASSERT_EQ(fake.log->created.size(), 2u);
  EXPECT_EQ(fake.log->created[0].name, "first");
  EXPECT_EQ(fake.log->created[1].memory_mb, 2048u);
  EXPECT_EQ(prompt_of(fake, "first").find("Previous stage output"), std::string::npos);
  EXPECT_NE(prompt_of(fake, "second").find("--- Previous stage output ---\n{\"n\":1}\n"),
            std::string::npos)
      << prompt_of(fake, "second");
  EXPECT_EQ(seen.stages, (std::vector<std::string>{"first ok", "second ok"}));
  ASSERT_EQ(r->agents.size(), 2u);
  EXPECT_EQ(r->agents[1].stage, "second");
}

TEST_F(PipelineKind, FanOutOutputsAreMergedInStageOrderAndBoundedByTheLimit) {
  ::setenv("VOIDBOX_MAX_PARALLEL_BOXES", "1", 1);
  FakeRuntime fake;
  fake.log->scripted[std::string("a:") + kClaude] = writes(R"({"from":"a"})");
  fake.log->scripted[std::string("b:") + kClaude] = writes("plain b");
  fake.log->scripted[std::string("c:") + kClaude] = writes(R"({"from":"c"})");
  fake.log->scripted[std::string("merge:") + kClaude] = writes("merged");
  auto s = pipeline({box("a"), box("b"), box("c"), box("merge")},
                    {one("a"), fan_out({"b", "c"}), one("merge")});
  for (auto& b : s.pipeline->boxes) {
    b.sandbox = spec::BoxSandbox{};
    b.sandbox->env = {{"VB_BOX", b.name}};
  }
  Seen seen;
  auto r = fake.runtime.run(s, seen, options_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->success);
  EXPECT_NE(prompt_of(fake, "merge").find(R"(["plain b",{"from":"c"}])"), std::string::npos)
      << prompt_of(fake, "merge");
  EXPECT_NE(prompt_of(fake, "b").find(R"({"from":"a"})"), std::string::npos);
  EXPECT_NE(prompt_of(fake, "c").find(R"({"from":"a"})"), std::string::npos);
  ASSERT_EQ(seen.warnings.size(), 1u);
  EXPECT_EQ(seen.warnings[0],
            "fan_out of 2 boxes runs 1 at a time: $VOIDBOX_MAX_PARALLEL_BOXES is 1");
  ASSERT_EQ(r->agents.size(), 4u);
  EXPECT_EQ(r->agents[1].stage, "b");
  EXPECT_EQ(r->agents[2].stage, "c");
}

TEST_F(PipelineKind, NamedOutputsAreHostDirectoriesMountedIntoLaterBoxes) {
  FakeRuntime fake;
  fake.log->scripted[kClaude] = writes("x");
  auto s = pipeline({box("make"), box("use")}, {});
  s.pipeline->boxes[0].outputs = {{"seeds", "/workspace/output/seeds"}};
  s.pipeline->boxes[1].inputs = {{"seeds", "/workspace/input/seeds"}};
  Seen seen;
  auto r = fake.runtime.run(s, seen, options_);
  ASSERT_TRUE(r) << r.error().message;
  const std::string host = (dir_ / "run/outputs/seeds").string();
  EXPECT_TRUE(std::filesystem::is_directory(host));
  EXPECT_EQ(r->outputs_dir, (dir_ / "run/outputs").string());
  ASSERT_EQ(fake.log->created.size(), 2u);
  ASSERT_EQ(fake.log->created[0].mounts.size(), 1u);
  EXPECT_EQ(fake.log->created[0].mounts[0].host, host);
  EXPECT_EQ(fake.log->created[0].mounts[0].guest, "/workspace/output/seeds");
  EXPECT_FALSE(fake.log->created[0].mounts[0].readonly);
  ASSERT_EQ(fake.log->created[1].mounts.size(), 1u);
  EXPECT_EQ(fake.log->created[1].mounts[0].host, host);
  EXPECT_TRUE(fake.log->created[1].mounts[0].readonly);
}

TEST_F(PipelineKind, AFailedBoxEndsThePipelineNamingTheBox) {
  FakeRuntime fake;
  ScriptedProgram broken;
  broken.stdout_chunks = {R"({"type":"result","subtype":"error_during_execution","is_error":true})"
                          "\n"};
  broken.exit_code = 1;
  fake.log->scripted[std::string("a:") + kClaude] = writes("fine");
  fake.log->scripted[std::string("b:") + kClaude] = broken;
  fake.log->scripted[std::string("c:") + kClaude] = writes("fine");
  auto s = pipeline({box("a"), box("b"), box("c"), box("after")},
                    {one("a"), fan_out({"b", "c"}), one("after")});
  Seen seen;
  auto r = fake.runtime.run(s, seen, options_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->success);
  EXPECT_EQ(fake.log->created.size(), 3u) << "the stage after the failure ran";
  ASSERT_EQ(r->agents.size(), 3u);
  EXPECT_EQ(r->agents[1].stage, "b");
  EXPECT_FALSE(r->agents[1].success);
  EXPECT_NE(r->agents[1].error.find("error_during_execution"), std::string::npos);
  EXPECT_TRUE(r->agents[2].success);
  EXPECT_TRUE(fake.log->stopped);
}

TEST_F(PipelineKind, AStageNamingAnUnknownBoxIsAnInvalidSpecBeforeAnyVm) {
  FakeRuntime fake;
  auto s = pipeline({box("a")}, {one("a"), fan_out({"a", "ghost"})});
  Seen seen;
  auto r = fake.runtime.run(s, seen, options_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Error::Kind::invalid_spec);
  EXPECT_NE(r.error().message.find("ghost"), std::string::npos);
  EXPECT_TRUE(fake.log->created.empty());
}

}  // namespace
}  // namespace voidbox
