// `voidbox serve` killed with SIGKILL at random points during runs, 20
// times, and restarted each time: every run submitted before a kill is
// there afterwards in a consistent terminal state, SQLite's integrity check
// passes, and every published output and artifact is whole.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <thread>

#include "daemon/atomic_file.hpp"
#include "test_daemon.hpp"

extern char** environ;

namespace voidbox::daemon {
namespace {

namespace json = boost::json;
using testing::kTwoStepSpec;
using testing::parse;
using testing::sleep_spec;

std::string voidbox_binary() {
  const char* build = std::getenv("VOIDBOX_BUILD_DIR");
  return std::string(build != nullptr ? build : ".") + "/bin/voidbox";
}

// One `voidbox serve` process; ready once it printed that it listens.
class DaemonProcess {
 public:
  DaemonProcess(const std::filesystem::path& state, const std::string& socket) {
    int out[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    const std::string bin = voidbox_binary();
    std::vector<std::string> args = {bin,         "--output",         "json",        "serve",
                                     "--listen",  "unix://" + socket, "--state-dir", state.string(),
                                     "--backend", "process",          "--workers",   "3"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv.data(), environ), 0) << bin;
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    // The listening line, or EOF if it died; 30 s only guards a hang.
    std::string line;
    pollfd p{out[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos && ::poll(&p, 1, 30000) > 0) {
      char buf[512];
      ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    ready_ = line.find("\"listening\"") != std::string::npos;
    EXPECT_TRUE(ready_) << "voidbox serve did not start: " << line;
  }
  ~DaemonProcess() { kill(SIGKILL); }
  bool ready() const { return ready_; }
  void kill(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  bool ready_ = false;
};

std::string integrity_check(const std::filesystem::path& db) {
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
    return "cannot open";
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW)
      out += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

// Checks one run against the rules a restart must keep; returns its status.
std::string check_run(DaemonClient& client, const std::string& id, bool daemon_fresh) {
  auto r = client.request("GET", "/v1/runs/" + id);
  if (!r) {
    ADD_FAILURE() << r.error();
    return "";
  }
  EXPECT_EQ(r->status, 200) << "run " << id << " is missing: " << r->body;
  auto v = parse(r->body);
  if (!v.is_object()) return "";
  const auto& run = v.as_object();
  const std::string status(run.at("status").as_string());
  if (daemon_fresh) {
    // Just restarted: nothing from before can still be active.
    EXPECT_TRUE(status == "succeeded" || status == "failed" || status == "cancelled")
        << id << " " << status;
  }
  if (status != "succeeded" && status != "failed" && status != "cancelled") return status;
  auto events = parse(client.request("GET", "/v1/runs/" + id + "/events")->body).as_array();
  EXPECT_FALSE(events.empty()) << id;
  if (!events.empty()) {
    EXPECT_EQ(events.back().at("event_id"), run.at("terminal_event_id")) << id;
  }
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].at("seq"), static_cast<std::int64_t>(i + 1)) << id;
  }
  auto stages =
      parse(client.request("GET", "/v1/runs/" + id + "/stages")->body).at("stages").as_array();
  for (const auto& s : stages) {
    EXPECT_NE(s.at("status"), "running") << id;
    EXPECT_NE(s.at("status"), "queued") << id;
  }
  const auto& publication = run.at("artifact_publication").as_object();
  EXPECT_NE(publication.at("status"), "publishing") << id;
  if (status == "succeeded") {
    EXPECT_EQ(publication.at("status"), "published") << id;
    EXPECT_EQ(run.at("output_ready"), true) << id;
  } else if (run.at("terminal_reason") == "daemon_restarted") {
    EXPECT_EQ(status, "failed");
  }
  for (const auto& m : publication.at("manifest").as_array()) {
    auto file = client.request("GET", std::string(m.at("retrieval_path").as_string()));
    EXPECT_EQ(file->status, 200) << id;
    EXPECT_EQ(file->body.size(), m.at("size_bytes").to_number<std::uint64_t>()) << id;
    EXPECT_EQ(fnv1a_hex(file->body), m.at("checksum").as_string()) << id;
  }
  return status;
}

TEST(DaemonCrash, KilledTwentyTimesDuringRunsEveryRunSurvivesConsistent) {
  const auto dir = testing::make_temp_dir();
  const auto state = dir / "state";
  const std::string socket = (dir / "d.sock").string();
  std::random_device device;
  const unsigned seed = device();
  std::mt19937 random(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::vector<std::string> submitted;
  std::map<std::string, int> statuses;

  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    DaemonProcess daemon(state, socket);
    ASSERT_TRUE(daemon.ready());
    DaemonClient client(*parse_endpoint("unix://" + socket), std::nullopt);
    for (const auto& id : submitted) ++statuses[check_run(client, id, true)];

    // A mix: quick two-step workflows and a sleeper, then a kill at a
    // random point among their events, publication and bookkeeping.
    for (int k = 0; k < 3; ++k) {
      json::object body{{"spec", k == 2 ? sleep_spec("0.3") : kTwoStepSpec},
                        {"format", "yaml"},
                        {"run_id", "r" + std::to_string(round) + "-" + std::to_string(k)}};
      auto r = client.request("POST", "/v1/runs", json::serialize(body));
      ASSERT_TRUE(r) << r.error();
      ASSERT_EQ(r->status, 200) << r->body;
      submitted.push_back(std::string(parse(r->body).at("run_id").as_string()));
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 900)(random)));
    daemon.kill(SIGKILL);
    EXPECT_EQ(integrity_check(state / "voidbox.db"), "ok");
  }

  DaemonProcess daemon(state, socket);
  ASSERT_TRUE(daemon.ready());
  DaemonClient client(*parse_endpoint("unix://" + socket), std::nullopt);
  statuses.clear();
  for (const auto& id : submitted) ++statuses[check_run(client, id, true)];
  EXPECT_EQ(statuses["succeeded"] + statuses["failed"] + statuses["cancelled"], 60);
  // Restarts cleaned up what killed writers left behind.
  for (const auto& e : std::filesystem::recursive_directory_iterator(state / "artifacts")) {
    EXPECT_FALSE(e.path().filename().string().starts_with(kTemporaryPrefix)) << e.path();
  }
  // And the daemon still runs new work to the end.
  auto r =
      client.request("POST", "/v1/runs",
                     json::serialize(json::object{{"spec", kTwoStepSpec}, {"run_id", "after"}}));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(testing::wait_terminal(client, "after").at("status"), "succeeded");
  daemon.kill(SIGTERM);
  EXPECT_EQ(integrity_check(state / "voidbox.db"), "ok");
  std::cout << "outcomes over 60 runs: " << statuses["succeeded"] << " succeeded, "
            << statuses["failed"] << " failed (daemon_restarted), " << statuses["cancelled"]
            << " cancelled\n";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace voidbox::daemon
