// The real claude-code (installed by scripts/setup.sh into the npm cache) on
// the host against the scripted mock: proves the mock speaks enough of the
// Messages API for a headless tool-using run, and that the output parser
// reads what claude-code really prints.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/credential_proxy.hpp"
#include "agent/output_parser.hpp"
#include "mock_anthropic.hpp"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// A throwaway key: the test checks the mock saw it and never prints it.
constexpr const char* kApiKey = "sk-ant-test-host-run-0123456789";

std::string claude_binary() {
  if (const char* bin = std::getenv("VOIDBOX_CLAUDE_BIN")) return bin;
  const std::string cmd =
      std::string(VOIDBOX_SOURCE_ROOT) + "/scripts/install-agent.sh --print claude";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    std::array<char, 512> buf{};
    while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "voidbox-claude-host-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
};

// Runs argv in cwd with exactly env, stdout into a file; kills it after the
// hang guard. Returns the exit status (-1 when killed).
int run(const std::vector<std::string>& args, const std::vector<std::string>& env,
        const fs::path& cwd, const fs::path& stdout_file, const fs::path& stderr_file) {
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -2;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ClaudeCodeHostTest, BashToolCallAgainstTheMockWritesTheFile) {
  const std::string claude = claude_binary();
  ASSERT_FALSE(claude.empty()) << "claude-code is not installed: run scripts/setup.sh";
  ASSERT_TRUE(fs::exists(claude)) << claude;

  TempDir tmp;
  const fs::path home = tmp.path / "home", work = tmp.path / "work";
  fs::create_directories(home);
  fs::create_directories(work);
  voidbox::testing::MockAnthropic mock(tmp.path, R"({"turns": [
    {"content": [{"type": "text", "text": "Writing the marker."},
                 {"type": "tool_use", "name": "Bash",
                  "input": {"command": "echo pineapple > marker.txt",
                            "description": "Write the marker file"}}]},
    {"content": [{"type": "text", "text": "The marker file is written."}]}]})");

  const auto started = std::chrono::steady_clock::now();
  const int status =
      run({claude, "-p", "Write pineapple into marker.txt", "--output-format", "stream-json",
           "--verbose", "--dangerously-skip-permissions"},
          {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home.string(),
           "ANTHROPIC_BASE_URL=" + mock.base_url(), std::string("ANTHROPIC_API_KEY=") + kApiKey,
           "IS_SANDBOX=1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"},
          work, tmp.path / "stdout.jsonl", tmp.path / "stderr.txt");
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  std::cout << "claude-code run against the mock: " << elapsed.count() << " ms\n";
  ASSERT_EQ(status, 0) << "stderr: " << slurp(tmp.path / "stderr.txt");

  EXPECT_EQ(slurp(work / "marker.txt"), "pineapple\n");

  const auto requests = mock.requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const auto& r : requests) {
    EXPECT_EQ(r.at("method").as_string(), "POST");
    EXPECT_EQ(r.at("path").as_string(), "/v1/messages");
    const auto& headers = r.at("headers").as_object();
    EXPECT_EQ(headers.at("x-api-key").as_string(),
              voidbox::testing::MockAnthropic::fingerprint(kApiKey));
    EXPECT_TRUE(headers.contains("anthropic-version"));
    EXPECT_TRUE(r.at("body").as_object().at("stream").as_bool());
  }
  // The second turn carries the Bash tool's result for the mock's tool_use id.
  const std::string second = json::serialize(requests[1].at("body"));
  EXPECT_NE(second.find(R"("tool_use_id":"toolu_mock_0_1")"), std::string::npos);

  voidbox::agent::OutputParser parser(voidbox::agent::Flavor::claude);
  parser.feed(slurp(tmp.path / "stdout.jsonl"));
  parser.finish();
  auto result = parser.result();
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->result_text, "The marker file is written.");
  EXPECT_EQ(result->subtype, "success");
  EXPECT_FALSE(result->is_error);
  EXPECT_EQ(result->num_turns, 2u);
  ASSERT_EQ(result->tool_calls.size(), 1u);
  EXPECT_EQ(result->tool_calls[0].name, "Bash");
  EXPECT_TRUE(result->tool_calls[0].has_result);
  EXPECT_EQ(parser.skipped_lines(), 0u);
}

// The same run with the credential proxy between claude-code and the mock:
// claude-code holds only the placeholder, the mock sees the real key.
TEST(ClaudeCodeHostTest, ThroughTheCredentialProxyTheUpstreamSeesTheRealKey) {
  const std::string claude = claude_binary();
  ASSERT_FALSE(claude.empty()) << "claude-code is not installed: run scripts/setup.sh";

  TempDir tmp;
  const fs::path home = tmp.path / "home", work = tmp.path / "work";
  fs::create_directories(home);
  fs::create_directories(work);
  voidbox::testing::MockAnthropic mock(tmp.path, R"({"turns": [
    {"content": [{"type": "tool_use", "name": "Bash",
                  "input": {"command": "echo proxied > marker.txt", "description": "marker"}}]},
    {"content": [{"type": "text", "text": "Done through the proxy."}]}]})");
  auto placeholder = voidbox::agent::make_placeholder_token();
  ASSERT_TRUE(placeholder);
  voidbox::agent::CredentialProxy::Options options;
  options.upstream = {mock.base_url(),
                      {voidbox::agent::Credential::Scheme::x_api_key, kApiKey, false}};
  options.placeholder = *placeholder;
  auto proxy = voidbox::agent::CredentialProxy::start(options);
  ASSERT_TRUE(proxy) << proxy.error();

  const int status = run({claude, "-p", "Write the marker", "--output-format", "stream-json",
                          "--verbose", "--dangerously-skip-permissions"},
                         {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home.string(),
                          "ANTHROPIC_BASE_URL=http://127.0.0.1:" + std::to_string((*proxy)->port()),
                          "ANTHROPIC_API_KEY=" + *placeholder, "IS_SANDBOX=1",
                          "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"},
                         work, tmp.path / "stdout.jsonl", tmp.path / "stderr.txt");
  ASSERT_EQ(status, 0) << "stderr: " << slurp(tmp.path / "stderr.txt");
  EXPECT_EQ(slurp(work / "marker.txt"), "proxied\n");

  const auto requests = mock.requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const auto& r : requests) {
    EXPECT_EQ(r.at("headers").as_object().at("x-api-key").as_string(),
              voidbox::testing::MockAnthropic::fingerprint(kApiKey));
  }
  EXPECT_EQ((*proxy)->stats().forwarded, 2u);
  EXPECT_EQ((*proxy)->stats().rejected_auth, 0u);
  // Nothing claude-code wrote (its output, its HOME) holds the real key.
  EXPECT_EQ(slurp(tmp.path / "stdout.jsonl").find(kApiKey), std::string::npos);
  for (const auto& entry : fs::recursive_directory_iterator(home)) {
    if (entry.is_regular_file()) {
      EXPECT_EQ(slurp(entry.path()).find(kApiKey), std::string::npos) << entry.path();
    }
  }
}

}  // namespace
