// 20 runs submitted at once to one daemon on the process backend: each
// finishes, and its events, stages and outputs are what the Runtime gives
// for the same spec run directly.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "test_daemon.hpp"
#include "voidbox/runtime.hpp"
#include "voidbox/spec_parser.hpp"

namespace voidbox::daemon {
namespace {

namespace json = boost::json;
using testing::kTwoStepSpec;
using testing::parse;
using testing::submit;
using testing::TestDaemon;
using testing::wait_terminal;

// What a run looks like from outside, built the same way from either side.
struct Observed {
  std::vector<std::string> run_events;                           // in order
  std::map<std::string, std::vector<std::string>> stage_events;  // per stage, in order
  std::map<std::string, std::string> stdout_text, stderr_text, status;
  std::map<std::string, int> exit_code;
  std::string output;
  bool operator==(const Observed&) const = default;
};

// The runtime's observer calls, named as the daemon names its events.
class Direct final : public RunObserver {
 public:
  Observed seen;
  void on_run_started(const RunStarted&) override { seen.run_events.push_back("run.started"); }
  void on_stage_started(const std::string&) override { seen.run_events.push_back("box.started"); }
  void on_sandbox_ready(const SandboxInfo&) override {
    seen.run_events.push_back("env.provisioned");
  }
  void on_step_started(const std::string& s) override {
    seen.stage_events[s].push_back("stage.started");
  }
  void on_output(const OutputChunk& c) override {
    auto& text = c.stream == OutputStream::stdout_stream ? seen.stdout_text[c.step]
                                                         : seen.stderr_text[c.step];
    text.append(reinterpret_cast<const char*>(c.bytes.data()), c.bytes.size());
  }
  void on_step_finished(const StepResult& r) override {
    seen.stage_events[r.name].push_back(r.status == StepStatus::succeeded ? "stage.completed"
                                        : r.status == StepStatus::skipped ? "stage.skipped"
                                                                          : "stage.failed");
    seen.status[r.name] = r.status == StepStatus::succeeded ? "succeeded"
                          : r.status == StepStatus::skipped ? "skipped"
                                                            : "failed";
    seen.exit_code[r.name] = r.exit_code;
  }
  void on_run_finished(const RunResult& r) override {
    seen.run_events.push_back(r.success ? "run.finished" : "run.failed");
    seen.output = r.output;
  }
};

Observed from_daemon(DaemonClient& client, const std::string& id) {
  Observed o;
  auto events = parse(client.request("GET", "/v1/runs/" + id + "/events")->body).as_array();
  for (const auto& v : events) {
    const auto& e = v.as_object();
    const std::string type(e.at("event_type").as_string());
    const std::string stage =
        e.at("stage_name").is_string() ? std::string(e.at("stage_name").as_string()) : "";
    // The daemon's own bookkeeping has no runtime counterpart.
    if (type == "workflow.planned" || type == "stage.queued" || type == "run.spec.loaded" ||
        type == "log.closed" || type == "run.output_ready") {
      continue;
    }
    if (type == "log.chunk") {
      const std::string stream(e.at("stream").as_string());
      if (stream == "warning") continue;
      (stream == "stdout" ? o.stdout_text : o.stderr_text)[stage] +=
          e.at("message").as_string().c_str();
    } else if (stage.empty()) {
      o.run_events.push_back(type);
    } else {
      o.stage_events[stage].push_back(type);
    }
  }
  auto stages =
      parse(client.request("GET", "/v1/runs/" + id + "/stages")->body).at("stages").as_array();
  for (const auto& v : stages) {
    const std::string name(v.at("stage_name").as_string());
    o.status[name] = v.at("status").as_string().c_str();
    if (v.at("exit_code").is_int64())
      o.exit_code[name] = static_cast<int>(v.at("exit_code").as_int64());
    // The stage's published output is its whole stdout.
    auto file = client.request("GET", "/v1/runs/" + id + "/stages/" + name + "/output-file");
    auto text = o.stdout_text.find(name);
    EXPECT_EQ(file->body, text == o.stdout_text.end() ? "" : text->second) << name;
  }
  o.output = parse(client.request("GET", "/v1/runs/" + id)->body)
                 .at("report")
                 .at("output")
                 .as_string()
                 .c_str();
  return o;
}

TEST(DaemonConcurrency, TwentySubmissionsAtOnceMatchTheRuntimeRunDirectly) {
  auto loaded = spec::parse_spec(kTwoStepSpec, spec::Format::yaml, "inline");
  ASSERT_TRUE(loaded);
  RuntimeOptions options;
  options.backend = "process";
  Runtime runtime(options);
  Direct direct;
  auto result = runtime.run(loaded->spec, direct);
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(direct.seen.output, "HELLO DAEMON\n");

  TestDaemon daemon;
  constexpr int kRuns = 20;
  std::vector<std::string> ids(kRuns);
  {
    std::vector<std::jthread> submitters;
    for (int i = 0; i < kRuns; ++i) {
      submitters.emplace_back([&, i] {
        auto client = daemon.client();
        ids[static_cast<std::size_t>(i)] = submit(*client, kTwoStepSpec);
      });
    }
  }
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), static_cast<std::size_t>(kRuns));
  auto client = daemon.client();
  for (const auto& id : ids) {
    ASSERT_FALSE(id.empty());
    auto run = wait_terminal(*client, id);
    EXPECT_EQ(run.at("status"), "succeeded") << id;
    EXPECT_EQ(from_daemon(*client, id), direct.seen) << id;
  }
}

}  // namespace
}  // namespace voidbox::daemon
