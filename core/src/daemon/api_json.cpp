#include "daemon/api_json.hpp"

#include <ctime>
#include <map>

#include "daemon/api_error.hpp"

namespace voidbox::daemon {
namespace json = boost::json;

namespace {

json::value time_or_null(std::int64_t ms) {
  if (ms == 0) return nullptr;
  return json::value(iso8601(ms));
}

json::value parse_or(const std::string& text, json::value fallback) {
  if (text.empty()) return fallback;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return ec ? fallback : v;
}

}  // namespace

std::string error_body(const ApiError& error) {
  return json::serialize(json::object{
      {"code", error.code}, {"message", error.message}, {"retryable", error.retryable}});
}

std::string event_id(std::int64_t seq) {
  return "evt-" + std::to_string(seq);
}

std::string iso8601(std::int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

std::string v2_event_type(const std::string& v1) {
  static const std::map<std::string, std::string> kNames = {
      {"run.started", "RunStarted"},
      {"run.finished", "RunCompleted"},
      {"run.failed", "RunFailed"},
      {"run.cancelled", "RunCancelled"},
      {"run.output_ready", "OutputReady"},
      {"run.spec.loaded", "SpecLoaded"},
      {"env.provisioned", "EnvProvisioned"},
      {"box.started", "BoxStarted"},
      {"workflow.planned", "WorkflowPlanned"},
      {"log.chunk", "LogChunk"},
      {"log.closed", "LogClosed"},
      {"log.truncated", "LogTruncated"},
      {"spec.parse_failed", "SpecParseFailed"},
      {"stage.queued", "StageQueued"},
      {"stage.started", "StageStarted"},
      {"stage.completed", "StageSucceeded"},
      {"stage.failed", "StageFailed"},
      {"stage.skipped", "StageSkipped"},
  };
  auto it = kNames.find(v1);
  return it != kNames.end() ? it->second : v1;
}

json::object event_json(const RunRecord& run, const EventRecord& e, bool v2) {
  return json::object{
      {"ts_ms", e.ts_ms},
      {"timestamp", iso8601(e.ts_ms)},
      {"level", e.level},
      {"event_type", v2 ? v2_event_type(e.event_type) : e.event_type},
      {"message", e.message},
      {"run_id", run.id},
      {"box_name", e.box_name},
      {"skill_id", nullptr},
      {"skill_type", nullptr},
      {"environment_id", nullptr},
      {"mode", nullptr},
      {"stream", e.stream.empty() ? json::value(nullptr) : json::value(e.stream)},
      {"seq", e.seq},
      {"payload", parse_or(e.payload_json, json::object{})},
      {"stage_name", e.stage_name.empty() ? json::value(nullptr) : json::value(e.stage_name)},
      {"group_id", e.box_name},
      {"event_id", event_id(e.seq)},
      {"attempt_id", run.attempt_id}};
}

json::object stage_json(const StageRecord& s) {
  json::value exit = nullptr;
  if (s.exit_code) exit = *s.exit_code;
  return json::object{{"stage_name", s.stage_name},
                      {"box_name", s.box_name},
                      {"group_id", s.group_id},
                      {"depends_on", parse_or(s.depends_on_json, json::array{})},
                      {"status", s.status},
                      {"stage_attempt", s.stage_attempt},
                      {"started_at", time_or_null(s.started_at)},
                      {"completed_at", time_or_null(s.completed_at)},
                      {"duration_ms", s.completed_at != 0 ? json::value(s.duration_ms) : nullptr},
                      {"exit_code", exit}};
}

std::string retrieval_path(const std::string& run_id, const ArtifactRecord& a) {
  if (a.name == "output") return "/v1/runs/" + run_id + "/stages/" + a.stage_name + "/output-file";
  return "/v1/runs/" + run_id + "/stages/" + a.stage_name + "/artifacts/" + a.name;
}

json::object run_json(const RunRecord& run, const std::vector<StageRecord>& stages,
                      const std::vector<ArtifactRecord>& artifacts,
                      const std::vector<EventRecord>& events, bool v2) {
  json::object stage_states;
  std::int64_t active_stages = 0;
  for (const auto& s : stages) {
    stage_states[s.stage_name] = json::object{{"status", s.status},
                                              {"started_at", time_or_null(s.started_at)},
                                              {"completed_at", time_or_null(s.completed_at)}};
    if (s.status == "running") ++active_stages;
  }
  json::array manifest;
  for (const auto& a : artifacts) {
    manifest.push_back(json::object{{"name", a.name},
                                    {"stage", a.stage_name},
                                    {"media_type", a.media_type},
                                    {"size_bytes", a.size_bytes},
                                    {"checksum", a.checksum},
                                    {"retrieval_path", retrieval_path(run.id, a)}});
  }
  json::array event_list;
  for (const auto& e : events) event_list.push_back(event_json(run, e, v2));
  json::value exit = nullptr;
  if (run.exit_code) exit = *run.exit_code;
  const bool terminal = is_terminal_status(run.status);
  const bool running = run.status == "running" || run.status == "starting";
  return json::object{
      {"id", run.id},
      {"status", run.status},
      {"file", run.file},
      {"input", run.input ? json::value(*run.input) : nullptr},
      {"report", parse_or(run.report_json, nullptr)},
      {"error", run.error.empty() ? json::value(nullptr) : json::value(run.error)},
      {"events", event_list},
      {"attempt_id", run.attempt_id},
      {"created_at", time_or_null(run.created_at)},
      {"started_at", time_or_null(run.started_at)},
      {"updated_at", time_or_null(run.updated_at)},
      {"finished_at", time_or_null(run.finished_at)},
      {"terminal_reason",
       run.terminal_reason.empty() ? json::value(nullptr) : json::value(run.terminal_reason)},
      {"exit_code", exit},
      {"active_stage_count", terminal ? 0 : active_stages},
      {"active_microvm_count", running ? 1 : 0},
      {"policy", parse_or(run.policy_json, json::object{})},
      {"terminal_event_id",
       run.terminal_event_id.empty() ? json::value(nullptr) : json::value(run.terminal_event_id)},
      {"stage_states", stage_states},
      {"artifact_publication", json::object{{"status", run.artifact_status},
                                            {"published_at", time_or_null(run.published_at)},
                                            {"manifest", manifest}}},
      {"output_ready", run.output_ready},
      {"backend", run.backend.empty() ? json::value(nullptr) : json::value(run.backend)}};
}

}  // namespace voidbox::daemon
