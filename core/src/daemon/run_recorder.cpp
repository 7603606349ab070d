#include "daemon/run_recorder.hpp"

#include <boost/json.hpp>

#include "daemon/run_manager.hpp"

namespace voidbox::daemon {
namespace json = boost::json;

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80           ? 1
                  : (c >> 5) == 0x6  ? 2
                  : (c >> 4) == 0xe  ? 3
                  : (c >> 3) == 0x1e ? 4
                                     : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return 0;
  }
  return n;
}

}  // namespace

std::string printable_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    std::size_t n = utf8_sequence(bytes, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(bytes.substr(i, n));
      i += n;
    }
  }
  return out;
}

RunRecorder::RunRecorder(RunStore& store, std::string run_id, std::string box_name,
                         std::function<void()> notify)
    : store_(store),
      run_id_(std::move(run_id)),
      box_name_(std::move(box_name)),
      notify_(std::move(notify)) {}

std::int64_t RunRecorder::emit(EventRecord event) {
  if (event.ts_ms == 0) event.ts_ms = now_ms();
  if (event.box_name.empty()) event.box_name = box_name_;
  auto seq = store_.append_event(run_id_, event);
  if (!seq) {
    if (store_error_.empty()) store_error_ = seq.error();
    return 0;
  }
  if (notify_) notify_();
  return *seq;
}

StageRecord& RunRecorder::stage(const std::string& name) {
  auto [it, added] = stages_.try_emplace(name);
  if (added) {
    it->second.stage_name = name;
    it->second.box_name = box_name_;
    it->second.group_id = box_name_;
  }
  return it->second;
}

void RunRecorder::save_stage(const StageRecord& s) {
  if (auto r = store_.upsert_stage(run_id_, s); !r && store_error_.empty()) {
    store_error_ = r.error();
  }
}

void RunRecorder::plan(const std::vector<PlannedStage>& planned) {
  json::array names;
  for (const auto& p : planned) {
    StageRecord& s = stage(p.name);
    json::array deps;
    for (const auto& d : p.depends_on) deps.emplace_back(d);
    s.depends_on_json = json::serialize(deps);
    save_stage(s);
    names.emplace_back(p.name);
  }
  EventRecord e;
  e.event_type = "workflow.planned";
  e.message = std::to_string(planned.size()) + " stage(s) planned";
  e.payload_json = json::serialize(json::object{{"stages", names}});
  emit(std::move(e));
  for (const auto& p : planned) {
    EventRecord q;
    q.event_type = "stage.queued";
    q.stage_name = p.name;
    q.message = "stage " + p.name + " queued";
    emit(std::move(q));
  }
}

void RunRecorder::on_run_started(const RunStarted& e) {
  EventRecord ev;
  ev.event_type = "run.started";
  ev.message = "run " + e.name + " started";
  emit(std::move(ev));
}

void RunRecorder::on_warning(const std::string& text) {
  EventRecord ev;
  ev.event_type = "log.chunk";
  ev.level = "warn";
  ev.stream = "warning";
  ev.message = text;
  emit(std::move(ev));
}

void RunRecorder::on_stage_started(const std::string& box) {
  EventRecord ev;
  ev.event_type = "box.started";
  ev.box_name = box;
  ev.message = "box " + box + " starting";
  emit(std::move(ev));
  // kind: sandbox has no steps: its one stage row follows the box.
  if (auto it = stages_.find(box); it != stages_.end() && it->second.status == "queued") {
    it->second.status = "running";
    it->second.started_at = now_ms();
    save_stage(it->second);
  }
}

void RunRecorder::on_sandbox_ready(const SandboxInfo& info) {
  backend_ = info.backend;
  EventRecord ev;
  ev.event_type = "env.provisioned";
  ev.message = "sandbox ready on backend " + info.backend + (info.vm ? "" : " (NO VM)");
  ev.payload_json = json::serialize(json::object{
      {"backend", info.backend}, {"vm", info.vm}, {"guest_kernel", info.guest_kernel}});
  emit(std::move(ev));
}

void RunRecorder::on_step_started(const std::string& step) {
  StageRecord& s = stage(step);
  s.status = "running";
  s.started_at = now_ms();
  save_stage(s);
  EventRecord ev;
  ev.event_type = "stage.started";
  ev.stage_name = step;
  ev.message = "stage " + step + " started";
  emit(std::move(ev));
}

void RunRecorder::on_output(const OutputChunk& chunk) {
  if (truncated_) return;
  if (logged_bytes_ + chunk.bytes.size() > kMaxLoggedBytes) {
    truncated_ = true;
    EventRecord ev;
    ev.event_type = "log.truncated";
    ev.level = "warn";
    ev.stage_name = chunk.step;
    ev.message = "output beyond " + std::to_string(kMaxLoggedBytes) +
                 " bytes is not logged as events; the stage output keeps its own copy";
    emit(std::move(ev));
    return;
  }
  logged_bytes_ += chunk.bytes.size();
  EventRecord ev;
  ev.event_type = "log.chunk";
  ev.stage_name = chunk.step;
  ev.stream = chunk.stream == OutputStream::stdout_stream ? "stdout" : "stderr";
  ev.message = printable_utf8(
      std::string_view(reinterpret_cast<const char*>(chunk.bytes.data()), chunk.bytes.size()));
  emit(std::move(ev));
}

void RunRecorder::on_step_finished(const StepResult& r) {
  StageRecord& s = stage(r.name);
  s.status = r.status == StepStatus::succeeded ? "succeeded"
             : r.status == StepStatus::skipped ? "skipped"
                                               : "failed";
  s.completed_at = now_ms();
  s.duration_ms = static_cast<std::int64_t>(r.duration_ms);
  if (r.status != StepStatus::skipped) s.exit_code = r.exit_code;
  save_stage(s);
  EventRecord ev;
  ev.event_type = r.status == StepStatus::succeeded ? "stage.completed"
                  : r.status == StepStatus::skipped ? "stage.skipped"
                                                    : "stage.failed";
  ev.level = r.status == StepStatus::failed || r.status == StepStatus::timed_out ? "error" : "info";
  ev.stage_name = r.name;
  ev.message = "stage " + r.name + " " + to_string(r.status) +
               (r.error.empty() ? std::string() : ": " + r.error);
  ev.payload_json = json::serialize(json::object{{"status", to_string(r.status)},
                                                 {"exit_code", r.exit_code},
                                                 {"duration_ms", r.duration_ms},
                                                 {"output_truncated", r.output_truncated}});
  emit(std::move(ev));
  EventRecord closed;
  closed.event_type = "log.closed";
  closed.stage_name = r.name;
  closed.message = "stage " + r.name + " output closed";
  emit(std::move(closed));
}

void RunRecorder::on_agent_activity(const AgentActivity& a) {
  EventRecord ev;
  ev.event_type = "agent.activity";
  ev.box_name = a.stage;
  ev.stage_name = a.stage;
  ev.level = a.is_error || a.type == AgentActivity::Type::error ? "warn" : "info";
  ev.message = std::string(to_string(a.type)) + (a.tool.empty() ? "" : " " + a.tool);
  json::object payload{{"type", to_string(a.type)}, {"is_error", a.is_error}};
  if (!a.text.empty()) payload["text"] = printable_utf8(a.text);
  if (!a.tool.empty()) payload["tool"] = a.tool;
  if (!a.tool_input.empty()) payload["tool_input"] = printable_utf8(a.tool_input);
  if (!a.model.empty()) payload["model"] = a.model;
  if (!a.session_id.empty()) payload["session_id"] = a.session_id;
  ev.payload_json = json::serialize(payload);
  emit(std::move(ev));
}

void RunRecorder::on_stage_finished(const StageResult& r) {
  auto it = stages_.find(r.name);
  if (it == stages_.end() || it->second.status != "running") return;
  it->second.status = r.success ? "succeeded" : "failed";
  it->second.completed_at = now_ms();
  save_stage(it->second);
}

}  // namespace voidbox::daemon
