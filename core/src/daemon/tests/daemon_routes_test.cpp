// Every route of the daemon API and every bad request, over its Unix
// socket, with runs on the process backend.
#include <gtest/gtest.h>

#include <fstream>

#include "test_daemon.hpp"

namespace voidbox::daemon {
namespace {

namespace json = boost::json;
using testing::kTwoStepSpec;
using testing::parse;
using testing::sleep_spec;
using testing::submit;
using testing::TestDaemon;
using testing::wait_terminal;

std::string code_of(const ClientResponse& r) {
  auto v = parse(r.body);
  if (!v.is_object() || !v.as_object().contains("code")) return "(no code: " + r.body + ")";
  EXPECT_TRUE(v.as_object().contains("message"));
  EXPECT_TRUE(v.as_object().contains("retryable"));
  return std::string(v.as_object().at("code").as_string());
}

// (status, code) of one request.
std::pair<int, std::string> fails(DaemonClient& c, const std::string& method,
                                  const std::string& target, const std::string& body = {}) {
  auto r = c.request(method, target, body);
  if (!r) return {0, r.error()};
  return {r->status, code_of(*r)};
}

class DaemonRoutes : public ::testing::Test {
 protected:
  TestDaemon daemon{4, 64, 4096};
  std::unique_ptr<DaemonClient> client = daemon.client();
};

TEST_F(DaemonRoutes, HealthNamesThePersistence) {
  auto r = client->request("GET", "/v1/health");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(parse(r->body), parse(R"({"status":"ok","persistence":"sqlite"})"));
}

TEST_F(DaemonRoutes, AWorkflowRunHasItsStateEventsStagesOutputsAndArtifacts) {
  const std::string id = submit(*client, kTwoStepSpec, {{"run_id", "wf-1"}});
  ASSERT_EQ(id, "wf-1");
  auto run = wait_terminal(*client, id);
  EXPECT_EQ(run.at("status"), "succeeded");
  EXPECT_EQ(run.at("exit_code"), 0);
  EXPECT_EQ(run.at("terminal_reason"), "completed");
  EXPECT_EQ(run.at("output_ready"), true);
  EXPECT_EQ(run.at("report").as_object().at("output"), "HELLO DAEMON\n");
  EXPECT_EQ(run.at("stage_states").as_object().at("upcase").as_object().at("status"), "succeeded");
  const auto& publication = run.at("artifact_publication").as_object();
  EXPECT_EQ(publication.at("status"), "published");
  EXPECT_EQ(publication.at("manifest").as_array().size(), 9u);  // 3 stages x output, stderr, result

  auto events = client->request("GET", "/v1/runs/wf-1/events");
  ASSERT_TRUE(events);
  auto list = parse(events->body).as_array();
  ASSERT_FALSE(list.empty());
  EXPECT_EQ(list.front().at("event_type"), "workflow.planned");
  EXPECT_EQ(list.back().at("event_type"), "run.finished");
  EXPECT_EQ(list.back().at("event_id"), run.at("terminal_event_id"));
  std::vector<std::string> types;
  for (const auto& e : list) types.emplace_back(e.at("event_type").as_string());
  for (const char* t :
       {"run.started", "run.spec.loaded", "box.started", "env.provisioned", "stage.queued",
        "stage.started", "log.chunk", "stage.completed", "log.closed", "run.output_ready"}) {
    EXPECT_NE(std::find(types.begin(), types.end(), t), types.end()) << t;
  }

  // The cursor: only the events after it.
  const std::string cursor(list[list.size() - 2].at("event_id").as_string());
  auto tail = client->request("GET", "/v1/runs/wf-1/events?from_event_id=" + cursor);
  ASSERT_TRUE(tail);
  auto tail_list = parse(tail->body).as_array();
  ASSERT_EQ(tail_list.size(), 1u);
  EXPECT_EQ(tail_list[0].at("event_type"), "run.finished");
  auto v2 = client->request("GET", "/v1/runs/wf-1/events?api_version=v2&from_event_id=" + cursor);
  ASSERT_TRUE(v2);
  EXPECT_EQ(parse(v2->body).as_array().at(0).at("event_type"), "RunCompleted");

  auto stages = client->request("GET", "/v1/runs/wf-1/stages");
  ASSERT_TRUE(stages);
  auto s = parse(stages->body).as_object();
  EXPECT_EQ(s.at("run_id"), "wf-1");
  const auto& rows = s.at("stages").as_array();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].at("stage_name"), "upcase");
  EXPECT_EQ(rows[1].at("depends_on"), parse(R"(["hello"])"));
  EXPECT_EQ(rows[1].at("status"), "succeeded");
  EXPECT_EQ(rows[1].at("exit_code"), 0);
  EXPECT_FALSE(rows[1].at("started_at").is_null());

  auto output = client->request("GET", "/v1/runs/wf-1/stages/upcase/output-file");
  ASSERT_TRUE(output);
  EXPECT_EQ(output->status, 200);
  EXPECT_EQ(output->body, "HELLO DAEMON\n");
  auto stderr_file = client->request("GET", "/v1/runs/wf-1/stages/complain/artifacts/stderr");
  ASSERT_TRUE(stderr_file);
  EXPECT_EQ(stderr_file->status, 200);
  EXPECT_EQ(stderr_file->body, "to-stderr\n");
  auto result = client->request("GET", "/v1/runs/wf-1/stages/hello/artifacts/result.json");
  ASSERT_TRUE(result);
  EXPECT_EQ(parse(result->body).at("status"), "succeeded");

  auto listed = client->request("GET", "/v1/runs?state=terminal");
  ASSERT_TRUE(listed);
  EXPECT_EQ(parse(listed->body).at("runs").as_array().size(), 1u);
  auto active = client->request("GET", "/v1/runs?state=active");
  ASSERT_TRUE(active);
  EXPECT_TRUE(parse(active->body).at("runs").as_array().empty());
}

TEST_F(DaemonRoutes, EventsStreamAsServerSentEventsUntilTheRunEnds) {
  const std::string id = submit(*client, kTwoStepSpec);
  std::vector<std::string> types;
  std::string last_id;
  auto status = client->stream(
      "/v1/runs/" + id + "/events",
      [&](const std::string& event_id, const std::string& type, const std::string& data) {
        types.push_back(type);
        last_id = event_id;
        EXPECT_EQ(parse(data).at("event_type"), json::value(type));
        return true;
      });
  ASSERT_TRUE(status) << status.error();
  EXPECT_EQ(*status, 200);
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.back(), "run.finished");
  auto run = client->request("GET", "/v1/runs/" + id);
  EXPECT_EQ(parse(run->body).at("terminal_event_id"), json::value(last_id));
}

TEST_F(DaemonRoutes, AFileSpecFailingStepMakesAFailedRunWithItsExitCode) {
  const auto file = daemon.dir / "fail.yaml";
  std::ofstream(file) << "api_version: v1\nkind: workflow\nname: f\nworkflow:\n  steps:\n"
                         "    - name: bad\n      run:\n        program: sh\n"
                         "        args: [\"-c\", \"exit 7\"]\n";
  auto r =
      client->request("POST", "/v1/runs", json::serialize(json::object{{"file", file.string()}}));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const std::string id(parse(r->body).at("run_id").as_string());
  EXPECT_EQ(parse(r->body).at("state"), "pending");
  auto run = wait_terminal(*client, id);
  EXPECT_EQ(run.at("status"), "failed");
  EXPECT_EQ(run.at("exit_code"), 7);
  EXPECT_EQ(run.at("file"), json::value(file.string()));
}

TEST_F(DaemonRoutes, BadRequestsGetTheOriginalsErrorCodes) {
  using P = std::pair<int, std::string>;
  EXPECT_EQ(fails(*client, "POST", "/v1/runs", "{not json"), P(400, "INVALID_PARAMS"));
  EXPECT_EQ(fails(*client, "POST", "/v1/runs", "[1,2]"), P(400, "INVALID_PARAMS"));
  EXPECT_EQ(fails(*client, "POST", "/v1/runs", "{}"), P(400, "INVALID_PARAMS"));
  EXPECT_EQ(fails(*client, "POST", "/v1/runs", R"({"file": 3})"), P(400, "INVALID_PARAMS"));
  EXPECT_EQ(fails(*client, "POST", "/v1/runs", R"({"file": "/nonexistent/spec.yaml"})"),
            P(400, "INVALID_SPEC"));
  EXPECT_EQ(fails(*client, "POST", "/v1/runs", R"({"spec": "kind: nonsense\n"})"),
            P(400, "INVALID_SPEC"));
  json::object bad_policy{{"spec", kTwoStepSpec},
                          {"policy", json::object{{"max_parallel_microvms_per_run", 0}}}};
  EXPECT_EQ(fails(*client, "POST", "/v1/runs", json::serialize(bad_policy)),
            P(400, "INVALID_POLICY"));
  json::object bad_timeout{{"spec", kTwoStepSpec},
                           {"policy", json::object{{"stage_timeout_secs", 0}}}};
  EXPECT_EQ(fails(*client, "POST", "/v1/runs", json::serialize(bad_timeout)),
            P(400, "INVALID_POLICY"));
  json::object bad_id{{"spec", kTwoStepSpec}, {"run_id", "../escape"}};
  EXPECT_EQ(fails(*client, "POST", "/v1/runs", json::serialize(bad_id)), P(400, "INVALID_PARAMS"));
  EXPECT_EQ(fails(*client, "GET", "/v1/runs?state=sideways"), P(400, "INVALID_PARAMS"));

  EXPECT_EQ(fails(*client, "GET", "/v1/runs/no-such-run"), P(404, "NOT_FOUND"));
  EXPECT_EQ(fails(*client, "GET", "/v1/runs/no-such-run/events"), P(404, "NOT_FOUND"));
  EXPECT_EQ(fails(*client, "GET", "/v1/runs/no-such-run/stages"), P(404, "NOT_FOUND"));
  EXPECT_EQ(fails(*client, "POST", "/v1/runs/no-such-run/cancel", "{}"), P(404, "NOT_FOUND"));
  EXPECT_EQ(fails(*client, "GET", "/v1/nothing-here"), P(404, "NOT_FOUND"));
  EXPECT_EQ(fails(*client, "GET", "/elsewhere"), P(404, "NOT_FOUND"));
  EXPECT_EQ(fails(*client, "DELETE", "/v1/health"), P(405, "INVALID_PARAMS"));
  EXPECT_EQ(fails(*client, "PUT", "/v1/runs"), P(405, "INVALID_PARAMS"));

  // Over the 4096-byte body limit of this daemon.
  EXPECT_EQ(fails(*client, "POST", "/v1/runs", std::string(8192, ' ')),
            P(413, "PAYLOAD_TOO_LARGE"));
  // The connection is closed after a 413; the next request still works.
  EXPECT_EQ(client->request("GET", "/v1/health")->status, 200);

  const std::string id = submit(*client, kTwoStepSpec, {{"run_id", "done-1"}});
  wait_terminal(*client, id);
  EXPECT_EQ(fails(*client, "GET", "/v1/runs/done-1/events?from_event_id=evt-x"),
            P(400, "INVALID_PARAMS"));
  EXPECT_EQ(fails(*client, "GET", "/v1/runs/done-1/stages/hello/artifacts/nope"),
            P(404, "ARTIFACT_NOT_FOUND"));
  EXPECT_EQ(fails(*client, "GET", "/v1/runs/done-1/stages/nostage/output-file"),
            P(404, "STRUCTURED_OUTPUT_MISSING"));
  EXPECT_EQ(fails(*client, "POST", "/v1/runs/done-1/cancel", "{bad"), P(400, "INVALID_PARAMS"));
  EXPECT_EQ(fails(*client, "POST", "/v1/runs/done-1/messages", "{}"), P(404, "NOT_FOUND"));
  json::object again{{"spec", kTwoStepSpec}, {"run_id", "done-1"}};
  EXPECT_EQ(fails(*client, "POST", "/v1/runs", json::serialize(again)), P(409, "ALREADY_TERMINAL"));
}

TEST_F(DaemonRoutes, OversizedHeadersAre431) {
  // A raw request: the client would not send such a header.
  auto r = client->request("GET", "/v1/health?" + std::string(20000, 'a'));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(code_of(*r), "PAYLOAD_TOO_LARGE");
}

TEST_F(DaemonRoutes, CancelStopsARunningRunAndIsIdempotent) {
  const std::string id = submit(*client, sleep_spec("60"), {{"run_id", "nap-1"}});
  // Wait until the command runs, so the cancel has something to kill.
  client->stream("/v1/runs/nap-1/events",
                 [](const std::string&, const std::string& type, const std::string&) {
                   return type != "stage.started";
                 });
  auto r = client->request("POST", "/v1/runs/nap-1/cancel", R"({"reason":"test says stop"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto run = wait_terminal(*client, id);
  EXPECT_EQ(run.at("status"), "cancelled");
  EXPECT_EQ(run.at("terminal_reason"), "test says stop");
  auto again = client->request("POST", "/v1/runs/nap-1/cancel");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(parse(again->body).at("state"), "cancelled");
  EXPECT_EQ(parse(again->body).at("terminal_event_id"), run.at("terminal_event_id"));
}

TEST_F(DaemonRoutes, ResubmittingAnActiveIdReturnsTheSameRun) {
  submit(*client, sleep_spec("60"), {{"run_id", "twice"}});
  auto r = client->request(
      "POST", "/v1/runs",
      json::serialize(json::object{{"spec", sleep_spec("1")}, {"run_id", "twice"}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(parse(r->body).at("run_id"), "twice");
  EXPECT_EQ(client->request("GET", "/v1/runs")->body.find("twice") != std::string::npos, true);
  client->request("POST", "/v1/runs/twice/cancel");
  EXPECT_EQ(wait_terminal(*client, "twice").at("status"), "cancelled");
}

TEST_F(DaemonRoutes, SessionMessagesAreKeptInOrder) {
  auto post = [&](const std::string& body) {
    return client->request("POST", "/v1/sessions/s1/messages", body);
  };
  EXPECT_EQ(post(R"({"role":"user","content":"hi"})")->status, 200);
  EXPECT_EQ(post(R"({"role":"assistant","content":"hello"})")->status, 200);
  EXPECT_EQ(fails(*client, "POST", "/v1/sessions/s1/messages", R"({"role":"user"})"),
            (std::pair<int, std::string>(400, "INVALID_PARAMS")));
  auto r = client->request("GET", "/v1/sessions/s1/messages");
  ASSERT_TRUE(r);
  auto messages = parse(r->body).at("messages").as_array();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].at("content"), "hi");
  EXPECT_EQ(messages[1].at("role"), "assistant");
  EXPECT_TRUE(parse(client->request("GET", "/v1/sessions/other/messages")->body)
                  .at("messages")
                  .as_array()
                  .empty());
}

TEST(DaemonQueue, SubmissionsPastTheQueueGet429) {
  TestDaemon daemon(1, 1);
  auto client = daemon.client();
  submit(*client, sleep_spec("60"), {{"run_id", "q1"}});
  submit(*client, sleep_spec("60"), {{"run_id", "q2"}});
  auto r =
      client->request("POST", "/v1/runs", json::serialize(json::object{{"spec", sleep_spec("1")}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(code_of(*r), "TOO_MANY_REQUESTS");
  EXPECT_EQ(parse(r->body).at("retryable"), true);
  // A queued run cancels without ever starting; the slot frees up.
  auto c2 = client->request("POST", "/v1/runs/q2/cancel");
  ASSERT_TRUE(c2);
  EXPECT_EQ(parse(c2->body).at("state"), "cancelled");
  EXPECT_EQ(parse(client->request("GET", "/v1/runs/q2")->body).at("started_at"), nullptr);
  EXPECT_EQ(
      client->request("POST", "/v1/runs", json::serialize(json::object{{"spec", sleep_spec("0")}}))
          ->status,
      200);
  client->request("POST", "/v1/runs/q1/cancel");
  EXPECT_EQ(wait_terminal(*client, "q1").at("status"), "cancelled");
}

}  // namespace
}  // namespace voidbox::daemon
