// The public Sandbox handle on the process backend: streaming exec with
// stdin, files, a terminal, and stop.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <string>

#include "voidbox/runtime.hpp"

namespace voidbox {
namespace {

using namespace std::chrono_literals;

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

RuntimeOptions process_backend() {
  RuntimeOptions options;
  options.backend = "process";
  return options;
}

class SandboxOnProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    SandboxConfig config;
    config.name = "api-test";
    config.env = {{"FROM_CONFIG", "config value"}};
    auto box = runtime_.create_sandbox(config);
    ASSERT_TRUE(box) << box.error().message;
    box_ = std::move(*box);
  }
  Runtime runtime_{process_backend()};
  std::unique_ptr<Sandbox> box_;
};

TEST_F(SandboxOnProcess, ReportsWhatItRunsOn) {
  EXPECT_EQ(box_->info().backend, "process");
  EXPECT_FALSE(box_->info().vm);
  EXPECT_FALSE(box_->info().guest_kernel.empty());
  EXPECT_TRUE(box_->ping());
}

TEST_F(SandboxOnProcess, StreamsAnExecAndFeedsItsStdin) {
  std::mutex mu;
  std::string out;
  ExecRequest req;
  req.program = "sh";
  req.args = {"-c", "read line; echo \"got $line and $FROM_CONFIG\"; exit 5"};
  req.stdin_open = true;
  auto session =
      box_->start_exec(req, {[&](std::span<const std::uint8_t> b) {
                               std::lock_guard lock(mu);
                               out.append(reinterpret_cast<const char*>(b.data()), b.size());
                             },
                             {}});
  ASSERT_TRUE(session) << session.error().message;
  ASSERT_TRUE((*session)->write_stdin(bytes_of("keys\n")));
  ASSERT_TRUE((*session)->close_stdin());
  auto done = (*session)->wait(std::chrono::steady_clock::now() + 10s);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->exit_code, 5);
  std::lock_guard lock(mu);
  EXPECT_EQ(out, "got keys and config value\n");
}

TEST_F(SandboxOnProcess, WritesAndReadsFiles) {
  ASSERT_TRUE(box_->mkdir("/workspace/api"));
  auto wrote = box_->write_file("/workspace/api/f.txt", bytes_of("content\n"));
  ASSERT_TRUE(wrote) << wrote.error().message;
  EXPECT_EQ(*wrote, 8u);
  auto back = box_->read_file("/workspace/api/f.txt");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, "content\n");
  auto small = box_->read_file("/workspace/api/f.txt", 3);
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error().kind, Error::Kind::too_large);
}

TEST_F(SandboxOnProcess, RunsACommandOnATerminalThatCanBeResized) {
  std::mutex mu;
  std::string screen;
  PtyRequest req;
  req.program = "sh";
  req.args = {"-c", "tty -s && echo on-a-tty; read line; stty size; echo \"typed $line\""};
  auto pty = box_->open_pty(req, [&](std::span<const std::uint8_t> b) {
    std::lock_guard lock(mu);
    screen.append(reinterpret_cast<const char*>(b.data()), b.size());
  });
  ASSERT_TRUE(pty) << pty.error().message;
  ASSERT_TRUE((*pty)->resize(132, 40));
  ASSERT_TRUE((*pty)->write(bytes_of("hello\n")));
  auto done = (*pty)->wait(std::chrono::steady_clock::now() + 10s);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->exit_code, 0);
  std::lock_guard lock(mu);
  EXPECT_NE(screen.find("on-a-tty"), std::string::npos) << screen;
  EXPECT_NE(screen.find("40 132"), std::string::npos) << screen;
  EXPECT_NE(screen.find("typed hello"), std::string::npos) << screen;
}

TEST_F(SandboxOnProcess, ClosingATerminalEndsItsCommand) {
  PtyRequest req;
  req.program = "sleep";
  req.args = {"60"};
  auto pty = box_->open_pty(req, {});
  ASSERT_TRUE(pty) << pty.error().message;
  ASSERT_TRUE((*pty)->close());
  auto done = (*pty)->wait(std::chrono::steady_clock::now() + 10s);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_NE(done->exit_code, 0);
}

TEST_F(SandboxOnProcess, AStoppedSandboxRefusesWork) {
  box_->stop();
  box_->stop();  // twice is harmless
  ExecRequest req;
  req.program = "true";
  auto r = box_->exec(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Error::Kind::closed) << r.error().message;
}

}  // namespace
}  // namespace voidbox

namespace voidbox {
namespace {

TEST(SandboxMountsOnProcess, AreRefusedWithAReasonNotIgnored) {
  char tmpl[] = "/tmp/process-mounts-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  Runtime runtime{process_backend()};
  SandboxConfig config;
  config.name = "mounts-test";
  config.mounts = {{dir, "/mnt/share", true}};
  auto box = runtime.create_sandbox(config);
  ::rmdir(dir.c_str());
  ASSERT_FALSE(box) << "a sandbox on the process backend ignored its mounts";
  EXPECT_NE(box.error().message.find("cannot share host directories"), std::string::npos)
      << box.error().message;
}

TEST(SandboxImageOnProcess, IsRefusedBeforeAnyPull) {
  Runtime runtime{process_backend()};
  SandboxConfig config;
  config.name = "image-test";
  // Port 1 on loopback: a pull would fail differently, so the message shows
  // the refusal came first.
  config.image = "127.0.0.1:1/debian:12";
  auto box = runtime.create_sandbox(config);
  ASSERT_FALSE(box) << "a sandbox on the process backend ignored sandbox.image";
  EXPECT_NE(box.error().message.find("cannot boot an OCI image"), std::string::npos)
      << box.error().message;

  SandboxConfig skill;
  skill.name = "oci-skill-test";
  skill.disks.push_back(DiskAttachment::from_oci_image("127.0.0.1:1/tool:1", "/opt/tool"));
  auto refused = runtime.create_sandbox(skill);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("OCI skills"), std::string::npos)
      << refused.error().message;
}

}  // namespace
}  // namespace voidbox
