// Test-side handle on tools/mock-anthropic/mock-anthropic.js: starts it with a
// script of turns, learns its port, reads its request log, and stops it when
// destroyed. Its stdin is a pipe we hold, so if the test process dies the mock
// sees EOF and exits (--stdin-lifeline) instead of lingering.
#pragma once

#include <fcntl.h>
#include <openssl/sha.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace voidbox::testing {

class MockAnthropic {
 public:
  // `dir` receives the script and the log; the script is a JSON document as
  // described at the top of mock-anthropic.js.
  MockAnthropic(const std::filesystem::path& dir, const std::string& script_json)
      : script_(dir / "mock-script.json"), log_(dir / "mock-requests.jsonl") {
    std::ofstream(script_) << script_json;
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    const std::string js = VOIDBOX_MOCK_ANTHROPIC_JS;
    const std::string script = script_.string(), log = log_.string();
    std::vector<char*> argv{const_cast<char*>("node"),
                            const_cast<char*>(js.c_str()),
                            const_cast<char*>("--script"),
                            const_cast<char*>(script.c_str()),
                            const_cast<char*>("--log"),
                            const_cast<char*>(log.c_str()),
                            const_cast<char*>("--stdin-lifeline"),
                            nullptr};
    const int rc = ::posix_spawnp(&pid_, "node", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    lifeline_ = in[1];
    if (rc != 0) {
      ::close(out[0]);
      throw std::runtime_error("cannot start node (apt-get install nodejs)");
    }
    port_ = read_port(out[0]);
    ::close(out[0]);
  }

  ~MockAnthropic() {
    if (lifeline_ >= 0) ::close(lifeline_);
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  MockAnthropic(const MockAnthropic&) = delete;
  MockAnthropic& operator=(const MockAnthropic&) = delete;

  std::uint16_t port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Every request the mock has logged so far, in arrival order.
  std::vector<boost::json::object> requests() const {
    std::vector<boost::json::object> out;
    std::ifstream in(log_);
    for (std::string line; std::getline(in, line);) {
      out.push_back(boost::json::parse(line).as_object());
    }
    return out;
  }

  // How the log shows a secret: a SHA-256 prefix, never the secret.
  static std::string fingerprint(std::string_view secret) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    ::SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
    static const char kHex[] = "0123456789abcdef";
    std::string out = "sha256:";
    for (int i = 0; i < 8; ++i) {
      out += kHex[digest[i] >> 4];
      out += kHex[digest[i] & 15];
    }
    return out;
  }

 private:
  static std::uint16_t read_port(int fd) {
    std::string text;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (text.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        throw std::runtime_error("mock-anthropic did not print its port within 10 s");
      }
      char buf[64];
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) throw std::runtime_error("mock-anthropic exited before printing its port");
      text.append(buf, static_cast<std::size_t>(n));
    }
    return static_cast<std::uint16_t>(std::stoi(text));
  }

  std::filesystem::path script_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int lifeline_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace voidbox::testing
