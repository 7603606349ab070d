// kind: agent against a fake sandbox: what the runtime asks of the VM (its
// network and agent disk), the provisioning it carries out, how the agent is
// launched (the key stays on the host), and how the agent's stream-json
// output becomes events and a typed result.
#include <gtest/gtest.h>
#include <stdlib.h>

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
constexpr const char* kKey = "sk-ant-unit-test-key-never-in-the-guest";

class Activity final : public RunObserver {
 public:
  std::vector<std::string> lines;
  std::optional<RunResult> finished;
  void on_agent_activity(const AgentActivity& a) override {
    lines.push_back(a.stage + " " + to_string(a.type) + " " +
                    (a.type == AgentActivity::Type::tool_use ? a.tool : a.text));
  }
  void on_run_finished(const RunResult& r) override { finished = r; }
};

const std::vector<std::string> kStream = {
    R"({"type":"system","subtype":"init","session_id":"s-1","model":"claude-mock","tools":["Bash"]})"
    "\n",
    // A line split across two chunks, as the guest may send it.
    R"({"type":"assistant","message":{"model":"claude-mock","content":[{"type":"tool_use","id":"t1",)",
    R"("name":"Bash","input":{"command":"echo hi"}}]},"session_id":"s-1"})"
    "\n",
    R"({"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t1","content":"hi"}]}})"
    "\n",
    R"({"type":"assistant","message":{"model":"claude-mock","content":[{"type":"text","text":"All done."}]}})"
    "\n",
    R"({"type":"result","subtype":"success","is_error":false,"num_turns":2,"result":"All done.",)"
    R"("session_id":"s-1","duration_ms":1234,"duration_api_ms":900,"total_cost_usd":0.25,)"
    R"("usage":{"input_tokens":100,"output_tokens":20}})"
    "\n"};

class AgentKind : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vb-agent-kind-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    disk_ = dir_ / "claude-test.ext4";
    std::ofstream(disk_) << "not really ext4";
    ::setenv("VOIDBOX_AGENT_DISK_CLAUDE", disk_.c_str(), 1);
    ::setenv("ANTHROPIC_API_KEY", kKey, 1);
  }
  void TearDown() override {
    ::unsetenv("VOIDBOX_AGENT_DISK_CLAUDE");
    ::unsetenv("ANTHROPIC_API_KEY");
    std::filesystem::remove_all(dir_);
  }

  static spec::RunSpec agent_spec() {
    spec::RunSpec s;
    s.kind = spec::Kind::agent;
    s.name = "helper";
    s.agent = spec::Agent{};
    s.agent->prompt = "Say hi.";
    s.agent->timeout_secs = 90;
    s.llm = spec::Llm{};
    s.llm->provider = "claude";
    return s;
  }

  std::filesystem::path dir_;
  std::filesystem::path disk_;
};

TEST_F(AgentKind, BootsWithNetworkAndTheAgentDiskProvisionsAndStreamsTheTypedResult) {
  FakeRuntime fake;
  ScriptedProgram claude;
  claude.stdout_chunks = kStream;
  claude.writes["/workspace/output.json"] = R"({"answer":"hi"})";
  fake.log->scripted[kClaude] = claude;
  Activity seen;
  auto r = fake.runtime.run(agent_spec(), seen);
  ASSERT_TRUE(r) << r.error().message;

  ASSERT_EQ(fake.log->created.size(), 1u);
  const SandboxConfig& config = fake.log->created[0];
  EXPECT_TRUE(config.network.enabled);
  ASSERT_EQ(config.disks.size(), 1u);
  EXPECT_EQ(config.disks[0].image, disk_);
  EXPECT_EQ(config.disks[0].guest, "/opt/voidbox/agent");
  EXPECT_TRUE(config.disks[0].readonly);

  // Policy first, then the provider bootstrap files.
  EXPECT_NE(std::find(fake.log->allowlist.begin(), fake.log->allowlist.end(), "claude"),
            fake.log->allowlist.end());
  ASSERT_TRUE(fake.log->limits);
  EXPECT_EQ(fake.log->limits->nofile, 4096u);
  EXPECT_EQ(fake.log->file_order, (std::vector<std::string>{"/home/sandbox/.claude.json",
                                                            "/workspace/.claude/settings.json"}));

  ASSERT_EQ(fake.log->execs.size(), 1u);
  const ExecRequest& agent = fake.log->execs[0];
  EXPECT_EQ(agent.program, kClaude);
  ASSERT_GE(agent.args.size(), 2u);
  EXPECT_EQ(agent.args[0], "-p");
  EXPECT_TRUE(agent.args[1].starts_with("Say hi.")) << agent.args[1];
  EXPECT_EQ(agent.cwd, "/workspace");
  EXPECT_EQ(agent.timeout, std::chrono::seconds(90));
  EXPECT_EQ(agent.env.at("IS_SANDBOX"), "1");
  EXPECT_EQ(agent.env.at("SHELL"), "/opt/voidbox/agent/bin/bash");
  EXPECT_TRUE(agent.env.at("PATH").starts_with("/opt/voidbox/agent/bin:"));
  // The credential proxy is on by default for a key: the guest gets the
  // proxy's address and a placeholder, never the key.
  EXPECT_TRUE(agent.env.at("ANTHROPIC_BASE_URL").starts_with("http://10.0.2.2:"));
  EXPECT_TRUE(agent.env.at("ANTHROPIC_API_KEY").starts_with("voidbox-proxy-"));
  for (const auto& [name, value] : agent.env) {
    EXPECT_EQ(value.find(kKey), std::string::npos) << name;
  }
  for (const auto& a : agent.args) EXPECT_EQ(a.find(kKey), std::string::npos);
  for (const auto& [path, text] : fake.log->files) {
    EXPECT_EQ(text.find(kKey), std::string::npos) << path;
  }

  EXPECT_EQ(seen.lines, (std::vector<std::string>{"helper init ", "helper tool_use Bash",
                                                  "helper tool_result hi", "helper text All done.",
                                                  "helper result All done."}));
  EXPECT_TRUE(r->success);
  EXPECT_EQ(r->kind, spec::Kind::agent);
  EXPECT_EQ(r->output, R"({"answer":"hi"})");
  ASSERT_EQ(r->agents.size(), 1u);
  const AgentOutcome& a = r->agents[0];
  EXPECT_TRUE(a.success) << a.error;
  EXPECT_EQ(a.result_text, "All done.");
  EXPECT_EQ(a.model, "claude-mock");
  EXPECT_EQ(a.session_id, "s-1");
  EXPECT_EQ(a.turns, 2u);
  EXPECT_EQ(a.input_tokens, 100u);
  EXPECT_EQ(a.output_tokens, 20u);
  EXPECT_DOUBLE_EQ(a.cost_usd, 0.25);
  EXPECT_EQ(a.tool_calls, (std::vector<std::string>{"Bash"}));
  EXPECT_TRUE(a.output_written);
  EXPECT_TRUE(fake.log->stopped);
  ASSERT_TRUE(seen.finished);
}

TEST_F(AgentKind, WithoutAnOutputFileTheOutputIsTheResultText) {
  FakeRuntime fake;
  fake.log->scripted[kClaude] = ScriptedProgram{kStream, "", 0, false, {}};
  Activity seen;
  auto r = fake.runtime.run(agent_spec(), seen);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->output, "All done.");
  EXPECT_FALSE(r->agents[0].output_written);
}

TEST_F(AgentKind, CredentialProxyOffGivesTheGuestTheKeyAsTheOriginalDoes) {
  FakeRuntime fake;
  fake.log->scripted[kClaude] = ScriptedProgram{kStream, "", 0, false, {}};
  auto s = agent_spec();
  s.llm->credential_proxy = false;
  s.llm->base_url = "http://127.0.0.1:4567";
  Activity seen;
  auto r = fake.runtime.run(s, seen);
  ASSERT_TRUE(r) << r.error().message;
  const ExecRequest& agent = fake.log->execs.at(0);
  EXPECT_EQ(agent.env.at("ANTHROPIC_API_KEY"), kKey);
  EXPECT_EQ(agent.env.at("ANTHROPIC_BASE_URL"), "http://10.0.2.2:4567");
}

TEST_F(AgentKind, AnErrorResultFailsTheRunWithTheAgentsReason) {
  FakeRuntime fake;
  ScriptedProgram claude;
  claude.stdout_chunks = {
      R"({"type":"result","subtype":"error_max_turns","is_error":true,"num_turns":9,"result":"gave up"})"
      "\n"};
  claude.exit_code = 1;
  fake.log->scripted[kClaude] = claude;
  Activity seen;
  auto r = fake.runtime.run(agent_spec(), seen);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->success);
  EXPECT_NE(r->agents[0].error.find("error_max_turns"), std::string::npos) << r->agents[0].error;
  EXPECT_EQ(r->agents[0].turns, 9u);
}

TEST_F(AgentKind, NoResultLineFailsWithTheAgentsStderr) {
  FakeRuntime fake;
  fake.log->scripted[kClaude] =
      ScriptedProgram{{"not json\n"}, "No suitable shell found", 1, false, {}};
  Activity seen;
  auto r = fake.runtime.run(agent_spec(), seen);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->success);
  const std::string& e = r->agents[0].error;
  EXPECT_NE(e.find("exited with status 1"), std::string::npos) << e;
  EXPECT_NE(e.find("No suitable shell found"), std::string::npos) << e;
}

TEST_F(AgentKind, TimeoutKillsTheAgentAndSaysSo) {
  FakeRuntime fake;
  fake.log->scripted[kClaude] = ScriptedProgram{{}, "", 137, true, {}};
  Activity seen;
  auto r = fake.runtime.run(agent_spec(), seen);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->success);
  EXPECT_NE(r->agents[0].error.find("did not finish within timeout_secs (90 s)"), std::string::npos)
      << r->agents[0].error;
}

TEST_F(AgentKind, NoAgentDiskIsAnErrorBeforeAnySandboxBoots) {
  ::setenv("VOIDBOX_AGENT_DISK_CLAUDE", (dir_ / "missing.ext4").c_str(), 1);
  FakeRuntime fake;
  Activity seen;
  auto r = fake.runtime.run(agent_spec(), seen);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("missing.ext4"), std::string::npos) << r.error().message;
  EXPECT_TRUE(fake.log->created.empty());
}

TEST_F(AgentKind, AMissingPromptIsAnInvalidSpec) {
  FakeRuntime fake;
  auto s = agent_spec();
  s.agent->prompt.reset();
  Activity seen;
  auto r = fake.runtime.run(s, seen);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Error::Kind::invalid_spec);
  EXPECT_TRUE(fake.log->created.empty());
}

TEST_F(AgentKind, AMissingKeyNamesTheVariable) {
  ::unsetenv("ANTHROPIC_API_KEY");
  FakeRuntime fake;
  Activity seen;
  auto r = fake.runtime.run(agent_spec(), seen);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("ANTHROPIC_API_KEY"), std::string::npos) << r.error().message;
  EXPECT_TRUE(fake.log->created.empty());
}

}  // namespace
}  // namespace voidbox
