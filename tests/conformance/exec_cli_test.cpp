// `voidbox exec` end to end on the process backend (or
// $VOIDBOX_CONFORMANCE_BACKEND): exit statuses, streams, stdin, timeouts,
// and a clear failure when a VM backend is missing.
#include <gtest/gtest.h>

#include <cstdlib>

#include "cli_runner.hpp"

namespace {

using voidbox::testing::run_cli;

std::string backend() {
  const char* b = std::getenv("VOIDBOX_CONFORMANCE_BACKEND");
  return b != nullptr && *b != '\0' ? b : "process";
}

std::vector<std::string> exec_args(std::vector<std::string> command) {
  std::vector<std::string> a = {"exec", "--backend", backend(), "--"};
  a.insert(a.end(), command.begin(), command.end());
  return a;
}

TEST(ExecCli, ExitsWithTheCommandsStatus) {
  auto r = run_cli(exec_args({"sh", "-c", "exit 7"}));
  EXPECT_EQ(r.status, 7) << r.err;
  auto ok = run_cli(exec_args({"true"}));
  EXPECT_EQ(ok.status, 0) << ok.err;
}

TEST(ExecCli, SignalDeathBecomes128PlusSignal) {
  auto r = run_cli(exec_args({"sh", "-c", "kill -TERM $$"}));
  EXPECT_EQ(r.status, 128 + 15) << r.err;
}

TEST(ExecCli, StreamsStdoutAndStderrSeparately) {
  auto r = run_cli(exec_args({"sh", "-c", "echo to-out; echo to-err >&2"}));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "to-out\n");
  EXPECT_NE(r.err.find("to-err\n"), std::string::npos) << r.err;
}

TEST(ExecCli, ForwardsPipedStdinUntilEof) {
  std::string input;
  for (int i = 0; i < 50000; ++i) input += std::to_string(i) + "\n";
  auto r = run_cli(exec_args({"wc", "-l"}), input);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(std::stoi(r.out), 50000);
}

TEST(ExecCli, EmptyStdinDoesNotBlock) {
  auto r = run_cli(exec_args({"cat"}));  // stdin is /dev/null
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(ExecCli, PassesEnvAndWorkdir) {
  auto r = run_cli({"exec", "--backend", backend(), "--env", "A=1", "--env", "B=two", "--workdir",
                    "/tmp", "--", "sh", "-c", "echo $A-$B; ls -d . >/dev/null"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1-two\n");
}

TEST(ExecCli, TimeoutExits124) {
  auto r = run_cli({"exec", "--backend", backend(), "--timeout", "1", "--", "sleep", "30"});
  EXPECT_EQ(r.status, 124) << r.err;
  EXPECT_NE(r.err.find("timed out"), std::string::npos) << r.err;
}

TEST(ExecCli, MissingProgramExits127) {
  auto r = run_cli(exec_args({"/no/such/voidbox-program"}));
  EXPECT_EQ(r.status, 127) << r.err;
}

TEST(ExecCli, UnknownBackendFailsFastNamingIt) {
  auto r = run_cli({"exec", "--backend", "no-such-backend", "--", "true"});
  EXPECT_EQ(r.status, 125);
  EXPECT_NE(r.err.find("no-such-backend"), std::string::npos) << r.err;
}

TEST(ExecCli, UsageErrorsExit2) {
  EXPECT_EQ(run_cli({"exec", "--backend", backend()}).status, 2);
  EXPECT_EQ(run_cli({"exec", "--bogus", "1", "--", "true"}).status, 2);
  auto help = run_cli({"exec", "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("NO VM"), std::string::npos);
}

}  // namespace
