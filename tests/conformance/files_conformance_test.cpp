// File RPCs: round trips, confinement against `..` and symlink escapes, and
// a multiplexed connection that keeps answering while an exec runs.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>

#include "exec_helpers.hpp"
#include "sandbox_env.hpp"

namespace voidbox::conformance {
namespace {

using namespace std::chrono_literals;

class FilesConformance : public SandboxSuite<FilesConformance> {
 public:
  static constexpr const char* kSandboxName = "conf-files";
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 2463534242u;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

TEST_F(FilesConformance, WriteReadStatRoundTrip) {
  const std::string data = pattern(3 * 1024 * 1024 + 17);  // several chunks, binary
  auto wrote = ch().write_file("/workspace/rt/blob.bin", bytes_of(data));
  ASSERT_TRUE(wrote) << wrote.error().message;
  EXPECT_EQ(*wrote, data.size());
  auto st = ch().stat("/workspace/rt/blob.bin");
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_TRUE(st->exists);
  EXPECT_EQ(st->size, data.size());
  EXPECT_EQ(st->kind, "file");
  auto back = ch().read_file("/workspace/rt/blob.bin");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(*back == data);
  auto missing = ch().stat("/workspace/rt/nothing");
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_FALSE(missing->exists);
}

TEST_F(FilesConformance, EmptyFileRoundTrip) {
  ASSERT_TRUE(ch().write_file("/workspace/empty", {}));
  auto back = ch().read_file("/workspace/empty");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(back->empty());
}

TEST_F(FilesConformance, ReadRespectsTheCallersBound) {
  ASSERT_TRUE(ch().write_file("/workspace/big", bytes_of(pattern(10000))));
  auto r = ch().read_file("/workspace/big", 9999);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Error::Kind::too_large);
  auto exact = ch().read_file("/workspace/big", 10000);
  ASSERT_TRUE(exact) << exact.error().message;
  EXPECT_EQ(exact->size(), 10000u);
}

TEST_F(FilesConformance, RefusesDotDotEscapes) {
  for (const char* path : {"/workspace/../etc/passwd", "/workspace/a/../../etc/passwd",
                           "/etc/passwd", "relative/path"}) {
    auto r = ch().read_file(path);
    EXPECT_FALSE(r) << path << " was readable";
    auto w = ch().write_file(std::string(path) + ".voidbox-test", bytes_of("x"));
    EXPECT_FALSE(w) << path << " was writable";
  }
}

TEST_F(FilesConformance, RefusesSymlinkEscapes) {
  // The guest user can make symlinks; the agent must not follow them out of
  // the allowed roots (/workspace, /home, /tmp). The command runs in the
  // default working directory, the guest's /workspace.
  auto ln =
      run(ch(), "sh", {"-c", "ln -sfn / slash && ln -sfn /etc etc && ln -sfn /etc/passwd pw"});
  ASSERT_TRUE(ln) << ln.error().message;
  ASSERT_EQ(ln->result.exit_code, 0) << ln->err;
  for (const char* path :
       {"/workspace/slash/etc/passwd", "/workspace/etc/passwd", "/workspace/pw"}) {
    auto r = ch().read_file(path);
    EXPECT_FALSE(r) << "read through a symlink out of the roots: " << path;
  }
  auto w = ch().write_file("/workspace/etc/voidbox-escape-test", bytes_of("x"));
  EXPECT_FALSE(w) << "wrote through a symlink to /etc";
  auto ws = ch().write_file("/workspace/slash/etc/voidbox-escape-test", bytes_of("x"));
  EXPECT_FALSE(ws) << "wrote through a symlink to / into /etc";
  auto check =
      run(ch(), "sh", {"-c", "test -e /etc/voidbox-escape-test && echo present || echo absent"});
  ASSERT_TRUE(check) << check.error().message;
  EXPECT_EQ(check->out, "absent\n");
  EXPECT_FALSE(std::filesystem::exists("/etc/voidbox-escape-test"));
}

TEST_F(FilesConformance, ConnectionServesOtherCallsWhileAnExecRuns) {
  // The exec cannot end before the gate file exists, and only this test
  // writes it after the other calls: answering them proves they did not
  // queue behind the exec. The loop ends on its own after 60 s (hang guard).
  ASSERT_TRUE(ch().mkdir("/workspace/gated"));
  // Output arrives on the channel's reader thread while this one checks it.
  std::mutex mu;
  std::string slow_out;
  ExecOutput slow{[&](std::span<const std::uint8_t> b) {
                    std::lock_guard lock(mu);
                    slow_out.append(reinterpret_cast<const char*>(b.data()), b.size());
                  },
                  [](std::span<const std::uint8_t>) {}};
  auto slow_so_far = [&] {
    std::lock_guard lock(mu);
    return slow_out;
  };
  ExecRequest req;
  req.program = "sh";
  req.args = {"-c",
              "i=0; while [ ! -e gate ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; "
              "[ -e gate ] && echo slow-done"};
  req.cwd = "/workspace/gated";
  auto session = ch().start_exec(req, slow);
  ASSERT_TRUE(session) << session.error().message;

  ASSERT_TRUE(ch().write_file("/workspace/during.txt", bytes_of("during\n")));
  auto read = ch().read_file("/workspace/during.txt");
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(*read, "during\n");
  ASSERT_TRUE(ch().stat("/workspace/during.txt"));
  auto second = run(ch(), "echo", {"second"});
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->out, "second\n");
  EXPECT_EQ(slow_so_far(), "") << "the gated exec ended before its gate opened";

  ASSERT_TRUE(ch().write_file("/workspace/gated/gate", bytes_of("open\n")));
  auto done = (*session)->wait();
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->exit_code, 0);
  EXPECT_EQ(slow_so_far(), "slow-done\n");
}

// 64-bit FNV-1a over a stream.
struct Fnv {
  std::uint64_t h = 1469598103934665603ull;
  std::uint64_t bytes = 0;
  void add(std::span<const std::uint8_t> b) {
    for (auto c : b) {
      h ^= c;
      h *= 1099511628211ull;
    }
    bytes += b.size();
  }
};

TEST_F(FilesConformance, HundredMebibytesOfOutputArriveIntact) {
  // seq 1 N prints ~101 MiB for N = 13,000,000; we hash what arrives and
  // the same text generated here.
  constexpr int kN = 13000000;
  Fnv got;
  ExecRequest req;
  req.program = "seq";
  req.args = {"1", std::to_string(kN)};
  auto r = ch().exec(req, {[&](std::span<const std::uint8_t> b) { got.add(b); }, {}});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->exit_code, 0);
  Fnv want;
  std::string line;
  for (int i = 1; i <= kN; ++i) {
    line = std::to_string(i);
    line += '\n';
    want.add(bytes_of(line));
  }
  EXPECT_GE(want.bytes, 100u << 20);
  EXPECT_EQ(got.bytes, want.bytes);
  EXPECT_EQ(got.h, want.h);
  EXPECT_EQ(r->stdout_bytes, want.bytes);
}

TEST_F(FilesConformance, PingAnswers) {
  EXPECT_TRUE(ch().ping());
}

}  // namespace
}  // namespace voidbox::conformance
