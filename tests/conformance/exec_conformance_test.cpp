// What every backend must do for exec: exit statuses, output streams,
// stdin, env, working directory, timeouts, identity, limits, allowlist.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

#include "exec_helpers.hpp"
#include "sandbox_env.hpp"

namespace voidbox::conformance {
namespace {

using namespace std::chrono_literals;

class ExecConformance : public SandboxSuite<ExecConformance> {
 public:
  static constexpr const char* kSandboxName = "conf-exec";
};

TEST_F(ExecConformance, ReportsExitStatus) {
  auto ok = run(ch(), "true");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->result.exit_code, 0);
  auto seven = run(ch(), "sh", {"-c", "exit 7"});
  ASSERT_TRUE(seven) << seven.error().message;
  EXPECT_EQ(seven->result.exit_code, 7);
  EXPECT_FALSE(seven->result.timed_out);
}

TEST_F(ExecConformance, ReportsDeathBySignalAs128PlusSignal) {
  auto r = run(ch(), "sh", {"-c", "kill -9 $$"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->result.exit_code, 128 + 9);
  EXPECT_EQ(r->result.signal, 9);
}

TEST_F(ExecConformance, MissingProgramIsAnErrorNotAHang) {
  auto r = run(ch(), "/no/such/program-voidbox");
  if (r) {
    EXPECT_NE(r->result.exit_code, 0);
  } else {
    EXPECT_EQ(r.error().kind, Error::Kind::guest) << r.error().message;
  }
}

TEST_F(ExecConformance, KeepsEachStreamInOrderAndLosesNothingWhenInterleaved) {
  auto r =
      run(ch(), "sh",
          {"-c", "i=1; while [ $i -le 3000 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done"});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->result.exit_code, 0);
  std::ostringstream want_out, want_err;
  for (int i = 1; i <= 3000; ++i) {
    want_out << "out" << i << "\n";
    want_err << "err" << i << "\n";
  }
  EXPECT_EQ(r->out, want_out.str());
  EXPECT_EQ(r->err, want_err.str());
  EXPECT_EQ(r->result.stdout_bytes, r->out.size());
  EXPECT_EQ(r->result.stderr_bytes, r->err.size());
}

TEST_F(ExecConformance, FeedsStdinAndClosesIt) {
  std::string input;
  for (int i = 0; i < 20000; ++i) input += "line " + std::to_string(i) + "\n";
  auto r = run(ch(), "cat", {}, input);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->result.exit_code, 0);  // cat ended, so it saw EOF
  EXPECT_EQ(r->out, input);
}

TEST_F(ExecConformance, WithoutStdinTheCommandReadsEof) {
  auto r = run(ch(), "sh", {"-c", "cat; echo end"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, "end\n");
}

TEST_F(ExecConformance, PassesEnvironment) {
  ExecRequest req;
  req.env = {{"VOIDBOX_TEST_VALUE", "hello world"}, {"SECOND", "2"}};
  auto r = run(ch(), "sh", {"-c", "echo \"$VOIDBOX_TEST_VALUE/$SECOND\""}, {}, req);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, "hello world/2\n");
}

TEST_F(ExecConformance, RunsInTheRequestedWorkingDirectory) {
  ASSERT_TRUE(ch().mkdir("/workspace/wd-test"));
  ASSERT_TRUE(ch().write_file("/workspace/wd-test/marker", bytes_of("here\n")));
  ExecRequest req;
  req.cwd = "/workspace/wd-test";
  auto r = run(ch(), "cat", {"marker"}, {}, req);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->result.exit_code, 0) << r->err;
  EXPECT_EQ(r->out, "here\n");
}

TEST_F(ExecConformance, TimeoutKillsTheWholeProcessGroup) {
  ExecRequest req;
  req.timeout = 500ms;
  auto start = std::chrono::steady_clock::now();
  auto r = run(ch(), "sh", {"-c", "sleep 60 & echo $!; wait"}, {}, req);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->result.timed_out);
  EXPECT_LT(took, 10s);
  std::string background = r->out.substr(0, r->out.find('\n'));
  ASSERT_FALSE(background.empty());
  // The backgrounded sleep was in the same group: it must be gone too.
  auto alive =
      run(ch(), "sh", {"-c", "kill -0 " + background + " 2>/dev/null && echo alive || echo gone"});
  ASSERT_TRUE(alive) << alive.error().message;
  EXPECT_EQ(alive->out, "gone\n");
}

TEST_F(ExecConformance, RunsCommandsAsUid1000WhenTheBackendCan) {
  auto r = run(ch(), "id", {"-u"});
  ASSERT_TRUE(r) << r.error().message;
  if (!guest().capabilities.dropped_privileges) {
    // A VM's agent is root and always can: there, not dropping is a failure.
    ASSERT_FALSE(backend_must_drop_privileges())
        << "backend '" << backend_under_test() << "' ran commands as uid "
        << guest().capabilities.exec_uid << " instead of 1000";
    GTEST_SKIP() << "backend '" << backend_under_test()
                 << "' cannot switch to uid 1000 here (agent runs as uid "
                 << guest().capabilities.exec_uid << ")";
  }
  EXPECT_EQ(r->out, "1000\n");
  EXPECT_EQ(guest().capabilities.exec_uid, 1000u);
}

TEST_F(ExecConformance, AppliesResourceLimitsToCommands) {
  protocol::Limits limits;
  limits.nofile = 77;
  auto set = ch().set_limits(limits);
  ASSERT_TRUE(set) << set.error().message;
  auto r = run(ch(), "sh", {"-c", "ulimit -n"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, "77\n");
  limits.nofile = 1024;
  ASSERT_TRUE(ch().set_limits(limits));
}

TEST_F(ExecConformance, AllowlistChangesTakeEffectForTheNextExec) {
  auto set = ch().set_allowlist({"echo"});
  ASSERT_TRUE(set) << set.error().message;
  auto allowed = run(ch(), "echo", {"yes"});
  ASSERT_TRUE(allowed) << allowed.error().message;
  EXPECT_EQ(allowed->out, "yes\n");
  auto refused = run(ch(), "true");
  ASSERT_FALSE(refused && refused->result.exit_code == 0 && refused->result.error.empty())
      << "`true` ran although only echo is allowed";
  if (!refused) {
    EXPECT_EQ(refused.error().guest_code, protocol::ErrorCode::NotAllowed)
        << refused.error().message;
  }
  ASSERT_TRUE(ch().set_allowlist({}));  // empty = everything
  auto again = run(ch(), "true");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->result.exit_code, 0);
}

}  // namespace
}  // namespace voidbox::conformance
