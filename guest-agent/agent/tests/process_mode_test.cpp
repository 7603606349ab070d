// End-to-end tests of the real agent binary in process mode over its Unix
// socket: handshake, exec streaming, concurrency, stdin, timeouts, policy,
// files, telemetry and ptys.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "agent_client.hpp"
#include "process_probe.hpp"

namespace pr = voidbox::protocol;
using voidbox::agent::test::AgentProcess;
using voidbox::agent::test::children_of;
using voidbox::agent::test::Client;
using voidbox::agent::test::eventually;
using voidbox::agent::test::open_fds;
using voidbox::agent::test::open_gate;
using voidbox::agent::test::running;
using voidbox::agent::test::until_exists;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

pr::ExecStart sh(const std::string& script) {
  pr::ExecStart e;
  e.program = "sh";
  e.args = {"-c", script};
  return e;
}

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    agent_ = std::make_unique<AgentProcess>();
    client_ = std::make_unique<Client>(agent_->socket_path());
    ASSERT_TRUE(client_->connected());
    std::string err;
    ack_ = client_->hello(voidbox::agent::test::kTestSecret, &err);
    ASSERT_TRUE(ack_) << err;
  }
  std::unique_ptr<AgentProcess> agent_;
  std::unique_ptr<Client> client_;
  std::optional<pr::HelloAck> ack_;
};

TEST_F(AgentTest, HelloAckDescribesTheAgent) {
  EXPECT_EQ(ack_->version, 1u);
  EXPECT_TRUE(ack_->capabilities.process_mode);
  EXPECT_FALSE(ack_->capabilities.pid1);
  EXPECT_EQ(ack_->features.size(), 6u);
  EXPECT_FALSE(ack_->agent_version.empty());
  EXPECT_EQ(ack_->capabilities.file_roots,
            (std::vector<std::string>{"/workspace", "/home", "/tmp"}));
}

TEST(AgentHandshake, WrongSecretIsRefusedAndClosed) {
  AgentProcess agent;
  Client c(agent.socket_path());
  std::string err;
  EXPECT_FALSE(c.hello(std::string(64, 'd'), &err));
  EXPECT_NE(err.find("secret mismatch"), std::string::npos) << err;
  EXPECT_TRUE(c.peer_closed());
}

TEST(AgentHandshake, FrameBeforeHelloClosesSilently) {
  AgentProcess agent;
  Client c(agent.socket_path());
  c.send(pr::make_frame(1, sh("echo pwned")));
  EXPECT_TRUE(c.peer_closed());
}

TEST(AgentHandshake, UnsupportedVersionGetsClearError) {
  AgentProcess agent;
  Client c(agent.socket_path());
  pr::Hello h;
  h.secret_hex = voidbox::agent::test::kTestSecret;
  h.min_version = 5;
  h.max_version = 9;
  c.send(pr::make_frame(0, h));
  auto f = c.recv();
  ASSERT_TRUE(f);
  ASSERT_EQ(f->type, pr::MessageType::Error);
  auto e = pr::decode<pr::ErrorInfo>(*f);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, pr::ErrorCode::UnsupportedVersion);
  EXPECT_EQ(e->message, "unsupported protocol version 5..9; this agent speaks 1");
  EXPECT_TRUE(c.peer_closed());
}

TEST_F(AgentTest, ExecCollectsStdoutStderrAndExitCode) {
  auto r = client_->exec(1, sh("echo out; echo err >&2; exit 3"));
  ASSERT_FALSE(r.error) << r.error->message;
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(r.exit.exit_code, 3);
  EXPECT_EQ(r.exit.stdout_bytes, 4u);
  auto killed = client_->exec(2, sh("kill -TERM $$"));
  EXPECT_EQ(killed.exit.signal, SIGTERM);
  EXPECT_EQ(killed.exit.exit_code, 128 + SIGTERM);
}

TEST_F(AgentTest, ExecEnvCwdAndMissingProgram) {
  std::filesystem::create_directories(agent_->root() / "workspace" / "sub");
  auto e = sh("echo $FOO; pwd");
  e.env = {{"FOO", "bar"}};
  e.cwd = "/workspace/sub";
  auto r = client_->exec(1, e);
  EXPECT_EQ(r.out, "bar\n" + (agent_->root() / "workspace" / "sub").string() + "\n");
  pr::ExecStart missing;
  missing.program = "no-such-program-xyz";
  auto m = client_->exec(2, missing);
  ASSERT_TRUE(m.error);
  EXPECT_EQ(m.error->code, pr::ErrorCode::NotFound);
}

TEST_F(AgentTest, OutputStreamsBeforeExit) {
  const auto gate = agent_->root() / "tmp" / "gate";
  client_->send(pr::make_frame(1, sh("echo first; " + until_exists(gate) + " && echo second")));
  // The command cannot end before the gate opens, so output seen now was
  // streamed while it ran.
  std::optional<pr::Frame> f;
  do {
    f = client_->recv_for(1);
    ASSERT_TRUE(f);
    ASSERT_NE(f->type, pr::MessageType::ExecExit) << "ended before its gate opened";
  } while (f->type != pr::MessageType::ExecOutput);
  open_gate(gate);
  auto rest = client_->collect_exec(1);
  EXPECT_EQ(rest.out, "second\n");
  EXPECT_EQ(rest.exit.exit_code, 0);
}

TEST_F(AgentTest, RunningExecDoesNotBlockOtherRequests) {
  const auto gate = agent_->root() / "tmp" / "gate";
  client_->send(pr::make_frame(1, sh(until_exists(gate))));
  pr::StatRequest st;
  st.path = "/workspace";
  client_->send(pr::make_frame(2, st));
  auto stat = client_->recv_for(2);
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->type, pr::MessageType::StatResult);
  auto second = client_->exec(3, sh("echo quick"));
  EXPECT_EQ(second.out, "quick\n");
  client_->send(pr::encode_frame(pr::MessageType::Ping, 0, 4, std::string_view("abc")));
  auto pong = client_->recv_for(4);
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->type, pr::MessageType::Pong);
  EXPECT_EQ(pong->text(), "abc");
  // All answered while exec 1 waits for a gate only this test opens.
  open_gate(gate);
  auto first = client_->collect_exec(1);
  EXPECT_EQ(first.exit.exit_code, 0) << "the gate opened only after the other answers";
}

TEST_F(AgentTest, StdinIsForwardedInOrder) {
  pr::ExecStart e;
  e.program = "sh";
  e.args = {"-c", "wc -c"};
  e.stdin_open = true;
  client_->send(pr::make_frame(1, e));
  // 5 MiB, far more than the pipe holds, in 64 KiB frames.
  std::vector<std::uint8_t> chunk(64u << 10, 'x');
  std::thread writer([&] {
    for (int i = 0; i < 80; ++i)
      client_->send(pr::encode_frame(pr::MessageType::ExecStdin, 0, 1, chunk));
    client_->send(
        pr::encode_frame(pr::MessageType::ExecStdin, pr::kFlagEnd, 1, std::string_view()));
  });
  auto r = client_->collect_exec(1);
  writer.join();
  ASSERT_FALSE(r.error) << r.error->message;
  EXPECT_EQ(r.out, std::to_string(80 * 65536) + "\n");
  EXPECT_EQ(r.exit.exit_code, 0);
}

TEST_F(AgentTest, ChildNotReadingStdinCannotStallTheConnection) {
  const auto gate = agent_->root() / "tmp" / "gate";
  pr::ExecStart e = sh(until_exists(gate));
  e.stdin_open = true;
  client_->send(pr::make_frame(1, e));
  ASSERT_TRUE(client_->recv_for(1));  // ExecStarted
  // More than the window: the agent must drop the excess and say so, and
  // keep answering other requests meanwhile.
  std::vector<std::uint8_t> chunk(1u << 20, 'y');
  for (std::uint64_t sent = 0; sent <= ack_->capabilities.stdin_window; sent += chunk.size())
    client_->send(pr::encode_frame(pr::MessageType::ExecStdin, 0, 1, chunk));
  auto warn = client_->recv_for(1);
  ASSERT_TRUE(warn);
  ASSERT_EQ(warn->type, pr::MessageType::Error);
  auto info = pr::decode<pr::ErrorInfo>(*warn);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->code, pr::ErrorCode::TooLarge);
  EXPECT_FALSE(info->fatal);
  client_->send(pr::encode_frame(pr::MessageType::Ping, 0, 2, std::string_view("p")));
  auto pong = client_->recv_for(2);
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->type, pr::MessageType::Pong);
  // The child is still blocked on its gate: the pong did not wait for it.
  open_gate(gate);
  auto r = client_->collect_exec(1);
  EXPECT_EQ(r.exit.exit_code, 0);
}

TEST_F(AgentTest, TimeoutKillsTheWholeProcessGroup) {
  // In /workspace, which the command's user (uid 1000 when the agent can
  // switch) may write: a marker it could not create would prove nothing.
  const auto marker = agent_->root() / "workspace" / "late";
  const auto pidfile = agent_->root() / "workspace" / "background.pid";
  // The background child records its pid, then would touch the marker 6 s
  // later; the command only starts its long sleep once the pid is written.
  auto e = sh("sh -c 'echo $$ > " + pidfile.string() + "; sleep 6; touch " + marker.string() +
              "' & while [ ! -s " + pidfile.string() + " ]; do sleep 0.05; done; sleep 30");
  e.timeout_ms = 3000;
  const auto t0 = Clock::now();
  auto r = client_->exec(1, e);
  EXPECT_TRUE(r.exit.timed_out);
  EXPECT_EQ(r.exit.signal, SIGKILL);
  std::ifstream in(pidfile);
  pid_t background = 0;
  ASSERT_TRUE(in >> background) << "the background child never wrote its pid";
  EXPECT_TRUE(eventually([&] { return !running(background); }))
      << "background child " << background << " survived the timeout";
  std::this_thread::sleep_until(t0 + 7s);  // past the time it would have touched the marker
  EXPECT_FALSE(std::filesystem::exists(marker)) << "background child survived the timeout";
}

TEST_F(AgentTest, ExecKillSignalsTheCommand) {
  client_->send(pr::make_frame(1, sh("sleep 30")));
  auto started = client_->recv_for(1);
  ASSERT_TRUE(started);
  ASSERT_EQ(started->type, pr::MessageType::ExecStarted);
  client_->send(pr::make_frame(1, pr::ExecKill{SIGTERM}));
  auto r = client_->collect_exec(1);
  EXPECT_EQ(r.exit.signal, SIGTERM);
}

TEST_F(AgentTest, AllowlistUpdatesApplyImmediately) {
  pr::SetAllowlist a;
  a.commands = {"echo"};
  client_->send(pr::make_frame(1, a));
  auto ok = client_->recv_for(1);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->type, pr::MessageType::Ok);
  auto denied = client_->exec(2, sh("echo hi"));
  ASSERT_TRUE(denied.error);
  EXPECT_EQ(denied.error->code, pr::ErrorCode::NotAllowed);
  pr::ExecStart echo;
  echo.program = "echo";
  echo.args = {"allowed"};
  EXPECT_EQ(client_->exec(3, echo).out, "allowed\n");
  client_->send(pr::make_frame(4, pr::SetAllowlist{}));
  ASSERT_TRUE(client_->recv_for(4));
  EXPECT_EQ(client_->exec(5, sh("echo again")).out, "again\n");
}

TEST_F(AgentTest, ConcurrencyLimitGivesBusy) {
  pr::Limits l;
  l.max_execs = 1;
  client_->send(pr::make_frame(1, l));
  auto ok = client_->recv_for(1);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->type, pr::MessageType::Ok);
  client_->send(pr::make_frame(2, sh("sleep 2")));
  auto started = client_->recv_for(2);
  ASSERT_TRUE(started);
  auto second = client_->exec(3, sh("echo no"));
  ASSERT_TRUE(second.error);
  EXPECT_EQ(second.error->code, pr::ErrorCode::Busy);
  client_->send(pr::make_frame(2, pr::ExecKill{}));
  client_->collect_exec(2);
}

TEST_F(AgentTest, FilesRoundTripBinaryData) {
  std::vector<std::uint8_t> data(3u << 20);
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<std::uint8_t>(i * 7 + i / 256);
  pr::FileWrite w;
  w.path = "/workspace/deep/dir/blob.bin";
  w.mode = 0600;
  client_->send(pr::make_frame(1, w));
  const std::size_t step = 1u << 20;
  for (std::size_t off = 0; off < data.size(); off += step) {
    const bool last = off + step >= data.size();
    client_->send(
        pr::encode_frame(pr::MessageType::FileData, last ? pr::kFlagEnd : 0, 1,
                         std::span(data).subspan(off, std::min(step, data.size() - off))));
  }
  auto ok = client_->recv_for(1);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->type, pr::MessageType::Ok) << ok->text();
  EXPECT_EQ(ok->text(), "{\"bytes\":" + std::to_string(data.size()) + "}");

  pr::StatRequest st;
  st.path = w.path;
  client_->send(pr::make_frame(2, st));
  auto sr = client_->recv_for(2);
  ASSERT_TRUE(sr);
  auto stat = pr::decode<pr::StatResult>(*sr);
  ASSERT_TRUE(stat);
  EXPECT_TRUE(stat->exists);
  EXPECT_EQ(stat->size, data.size());
  EXPECT_EQ(stat->mode, 0600u);

  pr::FileRead rd;
  rd.path = w.path;
  client_->send(pr::make_frame(3, rd));
  std::vector<std::uint8_t> back;
  for (;;) {
    auto f = client_->recv_for(3);
    ASSERT_TRUE(f);
    ASSERT_EQ(f->type, pr::MessageType::FileData);
    back.insert(back.end(), f->payload.begin(), f->payload.end());
    if (f->end()) break;
  }
  EXPECT_EQ(back, data);

  rd.offset = 10;
  rd.max = 5;
  client_->send(pr::make_frame(4, rd));
  std::vector<std::uint8_t> part;
  for (;;) {
    auto f = client_->recv_for(4);
    ASSERT_TRUE(f);
    part.insert(part.end(), f->payload.begin(), f->payload.end());
    if (f->end()) break;
  }
  EXPECT_EQ(part, std::vector<std::uint8_t>(data.begin() + 10, data.begin() + 15));
}

TEST_F(AgentTest, FileEscapesFailClearly) {
  std::filesystem::create_directories(agent_->root() / "outside");
  std::ofstream(agent_->root() / "outside" / "secret") << "s";
  std::filesystem::create_symlink(agent_->root() / "outside", agent_->root() / "workspace" / "esc");
  pr::FileRead rd;
  rd.path = "/workspace/esc/secret";
  client_->send(pr::make_frame(1, rd));
  auto f = client_->recv_for(1);
  ASSERT_TRUE(f);
  ASSERT_EQ(f->type, pr::MessageType::Error);
  auto e = pr::decode<pr::ErrorInfo>(*f);
  EXPECT_EQ(e->code, pr::ErrorCode::OutsideRoot);
  EXPECT_NE(e->message.find("symlink"), std::string::npos);

  pr::FileWrite w;
  w.path = "/workspace/../outside/secret";
  client_->send(pr::make_frame(2, w));
  f = client_->recv_for(2);
  ASSERT_TRUE(f);
  ASSERT_EQ(f->type, pr::MessageType::Error);
  EXPECT_EQ(pr::decode<pr::ErrorInfo>(*f)->code, pr::ErrorCode::OutsideRoot);

  pr::Mkdir m;
  m.path = "/etc/evil";
  client_->send(pr::make_frame(3, m));
  f = client_->recv_for(3);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, pr::MessageType::Error);
}

TEST_F(AgentTest, TelemetryStreamsUntilCancelled) {
  pr::TelemetrySubscribe t;
  t.interval_ms = 100;
  client_->send(pr::make_frame(1, t));
  for (int i = 0; i < 3; ++i) {
    auto f = client_->recv_for(1);
    ASSERT_TRUE(f);
    ASSERT_EQ(f->type, pr::MessageType::TelemetrySample);
    auto s = pr::decode<pr::TelemetrySample>(*f);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->seq, static_cast<std::uint64_t>(i + 2));  // seq 1 primes the counters
    EXPECT_GT(s->mem_total_bytes, 0u);
    EXPECT_GT(s->procs, 0u);
  }
  client_->send(pr::encode_frame(pr::MessageType::Cancel, 0, 1, std::string_view("{}")));
  for (;;) {
    auto f = client_->recv_for(1);
    ASSERT_TRUE(f);
    if (f->type == pr::MessageType::Ok) break;
    ASSERT_EQ(f->type, pr::MessageType::TelemetrySample);
  }
}

TEST_F(AgentTest, PtySessionWithResizeAndExitCode) {
  pr::PtyOpen p;
  p.program = "sh";
  p.cols = 100;
  p.rows = 30;
  client_->send(pr::make_frame(1, p));
  auto opened = client_->recv_for(1);
  ASSERT_TRUE(opened);
  ASSERT_EQ(opened->type, pr::MessageType::PtyOpened) << opened->text();
  pr::PtyResize rs;
  rs.cols = 123;
  rs.rows = 45;
  client_->send(pr::make_frame(1, rs));
  client_->send(pr::encode_frame(pr::MessageType::PtyData, 0, 1,
                                 std::string_view("stty size; echo mark-$((6*7)); exit 7\n")));
  std::string screen;
  std::optional<pr::ExecExit> exit;
  while (!exit) {
    auto f = client_->recv_for(1);
    ASSERT_TRUE(f) << "screen so far: " << screen;
    if (f->type == pr::MessageType::PtyData) screen += f->text();
    if (f->type == pr::MessageType::PtyExit) exit = pr::decode<pr::ExecExit>(*f).value();
  }
  EXPECT_NE(screen.find("45 123"), std::string::npos) << screen;
  EXPECT_NE(screen.find("mark-42"), std::string::npos) << screen;
  EXPECT_EQ(exit->exit_code, 7);
}

TEST_F(AgentTest, LargeOutputArrivesComplete) {
  auto r = client_->exec(1, sh("head -c 5000000 /dev/zero"));
  EXPECT_EQ(r.exit.exit_code, 0);
  EXPECT_EQ(r.out.size(), 5000000u);
  EXPECT_EQ(r.exit.stdout_bytes, 5000000u);
  EXPECT_GT(r.out_chunks.size(), 1u);
}

TEST_F(AgentTest, OversizeFrameClosesConnection) {
  client_->send(
      std::vector<std::uint8_t>(pr::encode_header(pr::MessageType::Stat, 0, 9, 100u << 20).begin(),
                                pr::encode_header(pr::MessageType::Stat, 0, 9, 100u << 20).end()));
  auto f = client_->recv();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, pr::MessageType::Error);
  EXPECT_TRUE(client_->peer_closed());
  // The agent keeps serving new connections.
  Client again(agent_->socket_path());
  EXPECT_TRUE(again.hello());
}

TEST_F(AgentTest, ManySequentialExecsDoNotLeak) {
  // One exec first, so whatever the agent opens once is open in the baseline.
  ASSERT_EQ(client_->exec(99, sh("echo warm")).out, "warm\n");
  ASSERT_TRUE(eventually([&] { return children_of(agent_->pid()).empty(); }));
  const std::size_t fds_before = open_fds(agent_->pid());
  for (std::uint32_t i = 0; i < 60; ++i) {
    auto r = client_->exec(100 + i, sh("echo " + std::to_string(i)));
    ASSERT_EQ(r.out, std::to_string(i) + "\n") << "exec " << i;
  }
  // Every command was reaped (no zombie, no stray child) and every pipe of
  // theirs closed: 60 leaked fds or processes would show here.
  EXPECT_TRUE(eventually([&] { return children_of(agent_->pid()).empty(); }))
      << children_of(agent_->pid()).size() << " children of the agent remain";
  EXPECT_TRUE(eventually([&] { return open_fds(agent_->pid()) <= fds_before; }))
      << "agent has " << open_fds(agent_->pid()) << " fds open, " << fds_before << " before";
}

}  // namespace

namespace {

TEST(AgentShutdown, OkArrivesThenTheAgentExits) {
  AgentProcess agent;
  {
    Client c(agent.socket_path());
    ASSERT_TRUE(c.hello());
    c.send(pr::encode_frame(pr::MessageType::Shutdown, 0, 1, std::string_view("{}")));
    auto ok = c.recv_for(1);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->type, pr::MessageType::Ok);
    EXPECT_TRUE(c.peer_closed());  // half-closed by the agent after the Ok
  }
  // The client closed: the agent exits, cleanly.
  int status = 0;
  pid_t done = 0;
  eventually([&] { return (done = ::waitpid(agent.pid(), &status, WNOHANG)) != 0; });
  ASSERT_EQ(done, agent.pid()) << "agent still running after Shutdown";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
