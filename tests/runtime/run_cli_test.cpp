// `voidbox run` end to end on the process backend.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include "cli_runner.hpp"

namespace {

using voidbox::testing::run_cli;

std::string fixture(const std::string& name) {
  return std::string(VOIDBOX_RUNTIME_FIXTURES) + "/" + name;
}
std::string example(const std::string& name) {
  return std::string(VOIDBOX_EXAMPLES_DIR) + "/" + name;
}

TEST(RunCli, WorkflowExamplePrintsTheOutputStep) {
  auto r = run_cli({"run", "--file", example("workflow-text.yaml"), "--backend", "process"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "HELLO FROM A VOIDBOX WORKFLOW\ndone\n");
  EXPECT_NE(r.err.find("step 'report' succeeded"), std::string::npos) << r.err;
}

TEST(RunCli, AutoWithoutAVmFallsBackLoudly) {
  // Point the kvm lookup at nothing: no kernel, so no VM can boot here.
  auto r = run_cli({"run", "--file", example("workflow-text.yaml")}, std::nullopt,
                   {"VOID_BOX_KERNEL=/nonexistent/vmlinuz"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("NOT VM-isolated"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "HELLO FROM A VOIDBOX WORKFLOW\ndone\n");
}

TEST(RunCli, FailedStepSkipsDependantsAndFailsTheRun) {
  auto r = run_cli({"run", "--file", fixture("workflow-failing.yaml"), "--backend", "process"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("step 'broken' failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("broken-stderr"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("step 'after-broken' skipped"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("step 'after-after' skipped"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("must not run"), std::string::npos);
  EXPECT_EQ(r.out, "fine\n");  // the output step's branch still ran
}

TEST(RunCli, StepTimeoutIsReported) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_cli({"run", "--file", fixture("workflow-timeout.yaml"), "--backend", "process"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("step 'slow' timed_out"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("step 'next' skipped"), std::string::npos) << r.err;
}

TEST(RunCli, InputAndSandboxEnvReachTheSteps) {
  auto r = run_cli({"run", "--file", fixture("workflow-input.yaml"), "--backend", "process",
                    "--input", "piped in\n"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "PIPED IN\nHI\n");
}

TEST(RunCli, JsonOutputIsOneEventPerLine) {
  auto r = run_cli(
      {"--output", "json", "run", "--file", example("workflow-text.yaml"), "--backend", "process"});
  EXPECT_EQ(r.status, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int finished_steps = 0;
  boost::json::object last;
  while (std::getline(lines, line)) {
    auto v = boost::json::parse(line);  // throws on a non-JSON line
    last = v.as_object();
    if (last["event"] == "step_finished") ++finished_steps;
  }
  EXPECT_EQ(finished_steps, 4);
  EXPECT_EQ(last["event"], "run_finished");
  EXPECT_EQ(last["success"], true);
  EXPECT_EQ(last["output"], "HELLO FROM A VOIDBOX WORKFLOW\ndone\n");
}

TEST(RunCli, AgentKindWithoutAnAgentDiskSaysHowToBuildOne) {
  auto r =
      run_cli({"run", "--file", fixture("agent-kind.yaml"), "--backend", "process"}, std::nullopt,
              {"ANTHROPIC_API_KEY=sk-test", "VOIDBOX_CACHE_DIR=/nonexistent/vb-cache"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no claude agent disk in /nonexistent/vb-cache/agents: build it with "
                       "`voidbox image build claude`"),
            std::string::npos)
      << r.err;
}

TEST(RunCli, AgentKindWithoutAKeyNamesTheVariable) {
  auto r = run_cli({"run", "--file", fixture("agent-kind.yaml"), "--backend", "process"},
                   std::nullopt, {"ANTHROPIC_API_KEY="});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("ANTHROPIC_API_KEY"), std::string::npos) << r.err;
}

TEST(RunCli, AgentKindOnTheProcessBackendIsRefusedWithTheReason) {
  auto r = run_cli(
      {"run", "--file", fixture("agent-kind.yaml"), "--backend", "process"}, std::nullopt,
      {"ANTHROPIC_API_KEY=sk-test", "VOIDBOX_AGENT_DISK_CLAUDE=" + fixture("agent-kind.yaml")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("the process backend cannot attach disks"), std::string::npos) << r.err;
}

TEST(RunCli, KvmWithoutItsPluginFailsNamingIt) {
  auto r =
      run_cli({"run", "--file", example("workflow-text.yaml"), "--backend", "kvm"}, std::nullopt,
              {"VOIDBOX_PLUGIN_PATH=/nonexistent", "VOID_BOX_KERNEL=/nonexistent/vmlinuz"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("kvm"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(RunCli, SandboxKindSaysReadyAndStopsOnSigint) {
  // Run in the background, wait for "ready", then Ctrl-C it.
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    std::string bin = voidbox::testing::voidbox_binary();
    std::string file = fixture("sandbox-kind.yaml");
    ::execl(bin.c_str(), bin.c_str(), "run", "--file", file.c_str(), "--backend", "process",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string got;
  char buf[256];
  while (got.find("ready\n") == std::string::npos) {
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(got, "ready\n");
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(out[0]);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
