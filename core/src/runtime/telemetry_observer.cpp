#include "runtime/telemetry_observer.hpp"

#include <algorithm>

#include "voidbox/spec_parser.hpp"

namespace voidbox::runtime {
namespace {

namespace json = boost::json;

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// gen_ai.system / gen_ai.provider.name for the spec's llm.provider.
std::string gen_ai_system(const spec::RunSpec& spec) {
  const std::string provider = spec.llm ? spec.llm->provider : "claude";
  if (provider == "claude" || provider == "claude-personal") return "anthropic";
  if (provider == "codex") return "openai";
  if (provider == "lm-studio") return "lm_studio";
  return provider;
}

std::string command_line(const spec::RunSpec& spec, const std::string& step) {
  if (!spec.workflow) return {};
  for (const auto& s : spec.workflow->steps) {
    if (s.name != step) continue;
    std::string line = s.run.program;
    for (const auto& a : s.run.args) line += " " + a;
    return line.size() > 1024 ? line.substr(0, 1024) : line;
  }
  return {};
}

std::string hex(std::uint64_t a, std::uint64_t b, int words) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (int w = 0; w < words; ++w) {
    const std::uint64_t v = w == 0 ? a : b;
    for (int i = 15; i >= 0; --i) out += kDigits[(v >> (4 * i)) & 15];
  }
  return out;
}

}  // namespace

TelemetryObserver::TelemetryObserver(RunObserver& next, const spec::RunSpec& spec,
                                     TelemetrySignals signals, RecordSink sink)
    : next_(next), spec_(spec), signals_(signals), sink_(std::move(sink)) {
  std::random_device seed;
  random_.seed((static_cast<std::uint64_t>(seed()) << 32) ^ seed() ^ now_ns());
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  while (hi == 0 && lo == 0) {
    hi = random_();
    lo = random_();
  }
  trace_id_ = hex(hi, lo, 2);
  run_.id = new_span_id();
  run_.name = "voidbox.run " + spec.name.value_or("run");
  run_.start_ns = now_ns();
  run_kind_ = std::string(spec::to_string(spec.kind));
}

TelemetryObserver::~TelemetryObserver() {
  if (finished_) return;
  finish_agents(nullptr);
  finish(false, "the run ended without a result");
}

std::string TelemetryObserver::new_span_id() {
  std::uint64_t id = 0;
  while (id == 0) id = random_();
  return hex(id, 0, 1);
}

std::string TelemetryObserver::stage_span_id(const std::string& stage) const {
  auto it = stages_.find(stage);
  return it == stages_.end() ? run_.id : it->second.id;
}

std::string TelemetryObserver::traceparent(const std::string& step) const {
  std::lock_guard lock(exec_ids_mu_);
  auto it = exec_ids_.find(step);
  if (it == exec_ids_.end() || !signals_.traces) return {};
  return "00-" + trace_id_ + "-" + it->second + "-01";
}

json::object TelemetryObserver::run_attributes() const {
  return {{"voidbox.run.name", spec_.name.value_or("run")}, {"voidbox.run.kind", run_kind_}};
}

void TelemetryObserver::span(const OpenSpan& s, const std::string& status,
                             const std::string& message, json::object attributes) {
  if (!signals_.traces) return;
  json::object o{{"trace_id", trace_id_},
                 {"span_id", s.id},
                 {"parent_span_id", s.parent},
                 {"name", s.name},
                 {"kind", "internal"},
                 {"start_time_unix_nano", s.start_ns},
                 {"end_time_unix_nano", s.end_ns == 0 ? now_ns() : s.end_ns},
                 {"status", status},
                 {"attributes", std::move(attributes)}};
  if (!message.empty()) o["status_message"] = message;
  sink_(VB_RECORD_SPAN, json::serialize(o));
}

void TelemetryObserver::log(const char* severity, const std::string& body,
                            const std::string& span_id) {
  if (!signals_.logs) return;
  json::object o{
      {"time_unix_nano", now_ns()}, {"severity", severity}, {"body", body},
      {"trace_id", trace_id_},      {"span_id", span_id},   {"attributes", run_attributes()}};
  sink_(VB_RECORD_LOG, json::serialize(o));
}

void TelemetryObserver::metric(const char* name, const char* unit, const char* description,
                               json::value value, json::object attributes) {
  if (!signals_.metrics) return;
  json::object o{{"name", name},
                 {"unit", unit},
                 {"description", description},
                 {"type", "gauge"},
                 {"start_time_unix_nano", run_.start_ns},
                 {"time_unix_nano", now_ns()},
                 {"value", std::move(value)},
                 {"attributes", std::move(attributes)}};
  sink_(VB_RECORD_METRIC, json::serialize(o));
}

void TelemetryObserver::on_run_started(const RunStarted& e) {
  run_.name = "voidbox.run " + e.name;
  run_kind_ = std::string(spec::to_string(e.kind));
  next_.on_run_started(e);
}

void TelemetryObserver::on_warning(const std::string& text) {
  log("warn", text, stage_order_.empty() ? run_.id : stage_span_id(stage_order_.back()));
  next_.on_warning(text);
}

void TelemetryObserver::on_stage_started(const std::string& stage) {
  const std::uint64_t t = now_ns();
  stages_[stage] = OpenSpan{new_span_id(), run_.id, "stage " + stage, t, 0};
  stage_order_.push_back(stage);
  boots_[stage] = OpenSpan{new_span_id(), stages_[stage].id, "sandbox.boot", t, 0};
  booting_ = stage;
  next_.on_stage_started(stage);
}

void TelemetryObserver::on_sandbox_ready(const SandboxInfo& box) {
  if (auto it = boots_.find(booting_); it != boots_.end()) {
    it->second.end_ns = now_ns();
    span(it->second, "ok", "",
         {{"voidbox.backend", box.backend},
          {"voidbox.vm", box.vm},
          {"voidbox.guest_kernel", box.guest_kernel}});
    boots_.erase(it);
  }
  next_.on_sandbox_ready(box);
}

void TelemetryObserver::on_step_started(const std::string& step) {
  const std::string parent = stage_order_.empty() ? run_.id : stage_span_id(stage_order_.back());
  steps_[step] = OpenSpan{new_span_id(), parent, "step " + step, now_ns(), 0};
  {
    std::lock_guard lock(exec_ids_mu_);
    exec_ids_[step] = new_span_id();
  }
  next_.on_step_started(step);
}

void TelemetryObserver::on_step_finished(const StepResult& r) {
  auto it = steps_.find(r.name);
  OpenSpan s = it != steps_.end()
                   ? it->second
                   : OpenSpan{new_span_id(),
                              stage_order_.empty() ? run_.id : stage_span_id(stage_order_.back()),
                              "step " + r.name, now_ns(), 0};
  if (it != steps_.end()) steps_.erase(it);
  s.end_ns = now_ns();
  const bool failed = r.status == StepStatus::failed || r.status == StepStatus::timed_out;
  json::object attributes{{"voidbox.step.name", r.name},
                          {"voidbox.step.status", to_string(r.status)},
                          {"voidbox.step.duration_ms", r.duration_ms}};
  if (r.status != StepStatus::skipped) {
    attributes["process.exit.code"] = r.exit_code;
    // The step's one command in the guest, as its own span so a trace
    // viewer shows the exec beside the boot it waited for.
    std::string exec_id;
    {
      std::lock_guard lock(exec_ids_mu_);
      exec_id = exec_ids_.contains(r.name) ? exec_ids_[r.name] : new_span_id();
    }
    OpenSpan exec{exec_id, s.id, "exec", s.start_ns, s.end_ns};
    json::object exec_attributes{{"process.command_line", command_line(spec_, r.name)},
                                 {"process.exit.code", r.exit_code}};
    if (failed) exec_attributes["error.type"] = to_string(r.status);
    span(exec, failed ? "error" : "ok", failed ? r.error : "", std::move(exec_attributes));
  }
  if (failed) {
    attributes["error.type"] = to_string(r.status);
    log("error", "step '" + r.name + "' " + to_string(r.status) + ": " + r.error, s.id);
  }
  span(s, failed ? "error" : (r.status == StepStatus::skipped ? "unset" : "ok"),
       failed || r.status == StepStatus::skipped ? r.error : "", std::move(attributes));
  next_.on_step_finished(r);
}

void TelemetryObserver::on_agent_activity(const AgentActivity& a) {
  auto [it, created] = agents_.try_emplace(a.stage);
  AgentSpans& agent = it->second;
  const std::uint64_t t = now_ns();
  if (created) {
    agent.agent = OpenSpan{new_span_id(), stage_span_id(a.stage), "invoke_agent " + a.stage, t, 0};
  }
  switch (a.type) {
    case AgentActivity::Type::tool_use:
      agent.open_tools.push_back(
          OpenSpan{new_span_id(), agent.agent.id, "execute_tool " + a.tool, t, 0});
      break;
    case AgentActivity::Type::tool_result:
      if (!agent.open_tools.empty()) {
        OpenSpan tool = agent.open_tools.front();
        agent.open_tools.pop_front();
        tool.end_ns = t;
        agent.tools.emplace_back(std::move(tool), a.is_error);
      }
      break;
    case AgentActivity::Type::result:
      agent.agent.end_ns = t;
      break;
    case AgentActivity::Type::error:
      log("error", "agent '" + a.stage + "': " + a.text, agent.agent.id);
      break;
    case AgentActivity::Type::init:
    case AgentActivity::Type::text:
      break;
  }
  next_.on_agent_activity(a);
}

void TelemetryObserver::on_stage_finished(const StageResult& r) {
  if (auto it = stages_.find(r.name); it != stages_.end()) {
    it->second.end_ns = now_ns();
    if (auto agent = agents_.find(r.name);
        agent != agents_.end() && agent->second.agent.end_ns == 0) {
      agent->second.agent.end_ns = it->second.end_ns;
    }
    span(it->second, r.success ? "ok" : "error", r.success ? "" : "the stage failed",
         {{"voidbox.stage.name", r.name}, {"voidbox.stage.success", r.success}});
  }
  next_.on_stage_finished(r);
}

void TelemetryObserver::finish_agents(const RunResult* result) {
  // Every agent outcome gets a span, also one that failed before it printed anything.
  if (result != nullptr) {
    for (const auto& outcome : result->agents) {
      auto [it, created] = agents_.try_emplace(outcome.stage);
      if (created) {
        auto stage = stages_.find(outcome.stage);
        it->second.agent =
            OpenSpan{new_span_id(), stage_span_id(outcome.stage), "invoke_agent " + outcome.stage,
                     stage != stages_.end() ? stage->second.start_ns : run_.start_ns,
                     stage != stages_.end() ? stage->second.end_ns : 0};
      }
    }
  }
  for (auto& [stage, agent] : agents_) {
    const AgentOutcome* outcome = nullptr;
    if (result != nullptr) {
      for (const auto& o : result->agents) {
        if (o.stage == stage) outcome = &o;
      }
    }
    const std::string system = gen_ai_system(spec_);
    json::object attributes{{"gen_ai.operation.name", "invoke_agent"},
                            {"gen_ai.system", system},
                            {"gen_ai.provider.name", system},
                            {"gen_ai.agent.name", stage}};
    if (spec_.llm && spec_.llm->model) attributes["gen_ai.request.model"] = *spec_.llm->model;
    bool failed = outcome == nullptr || !outcome->success;
    std::string message = outcome == nullptr ? "the agent reported no result" : outcome->error;
    if (outcome != nullptr) {
      if (!outcome->model.empty()) attributes["gen_ai.response.model"] = outcome->model;
      if (!attributes.contains("gen_ai.request.model") && !outcome->model.empty()) {
        attributes["gen_ai.request.model"] = outcome->model;
      }
      attributes["gen_ai.usage.input_tokens"] = outcome->input_tokens;
      attributes["gen_ai.usage.output_tokens"] = outcome->output_tokens;
      if (!outcome->session_id.empty()) attributes["gen_ai.conversation.id"] = outcome->session_id;
      attributes["voidbox.agent.cost_usd"] = outcome->cost_usd;
      attributes["voidbox.agent.turns"] = outcome->turns;
      attributes["voidbox.agent.tool_calls"] = outcome->tool_calls.size();
    }
    if (failed) {
      attributes["error.type"] =
          outcome != nullptr && !outcome->subtype.empty() && outcome->subtype != "success"
              ? outcome->subtype
              : std::string("agent_error");
    }
    span(agent.agent, failed ? "error" : "ok", failed ? message : "", std::move(attributes));
    for (auto& tool : agent.open_tools) agent.tools.emplace_back(tool, false);
    agent.open_tools.clear();
    for (const auto& [tool, is_error] : agent.tools) {
      json::object t{{"gen_ai.operation.name", "execute_tool"},
                     {"gen_ai.tool.name", tool.name.substr(std::string("execute_tool ").size())}};
      if (is_error) t["error.type"] = "tool_error";
      span(tool, is_error ? "error" : "ok", "", std::move(t));
    }
    if (outcome != nullptr) {
      json::object base{{"gen_ai.system", system}, {"gen_ai.agent.name", stage}};
      json::object in = base;
      in["gen_ai.token.type"] = "input";
      metric("voidbox.agent.tokens", "{token}", "tokens an agent stage used",
             static_cast<std::int64_t>(outcome->input_tokens), std::move(in));
      json::object out = base;
      out["gen_ai.token.type"] = "output";
      metric("voidbox.agent.tokens", "{token}", "tokens an agent stage used",
             static_cast<std::int64_t>(outcome->output_tokens), std::move(out));
    }
  }
  agents_.clear();
}

void TelemetryObserver::finish(bool success, const std::string& error) {
  finished_ = true;
  // Spans left open by a run that stopped early end now.
  for (auto& [name, boot] : boots_) span(boot, "error", "the sandbox did not start", {});
  boots_.clear();
  for (auto& [name, step] : steps_) span(step, "error", "the step did not finish", {});
  steps_.clear();
  for (auto& [name, stage] : stages_) {
    if (stage.end_ns == 0) span(stage, "error", error, {{"voidbox.stage.name", name}});
  }
  run_.end_ns = now_ns();
  json::object attributes = run_attributes();
  attributes["voidbox.run.success"] = success;
  attributes["voidbox.run.stages"] = stage_order_.size();
  span(run_, success ? "ok" : "error", error, attributes);

  json::object metric_attributes = run_attributes();
  metric_attributes["voidbox.run.success"] = success;
  const double seconds = static_cast<double>(run_.end_ns - run_.start_ns) / 1e9;
  metric("voidbox.run.duration", "s", "wall time of a run", seconds, metric_attributes);
  metric("voidbox.run.stages", "{stage}", "stages a run started",
         static_cast<std::int64_t>(stage_order_.size()), metric_attributes);
  metric("voidbox.run.exit_status", "1", "0 when the run succeeded, else 1",
         static_cast<std::int64_t>(success ? 0 : 1), metric_attributes);
}

void TelemetryObserver::on_run_finished(const RunResult& r) {
  finish_agents(&r);
  std::string error;
  if (!r.success) {
    error = "the run failed";
    for (const auto& s : r.steps) {
      if (s.status == StepStatus::failed || s.status == StepStatus::timed_out) {
        error = "step '" + s.name + "' " + to_string(s.status);
        break;
      }
    }
  }
  finish(r.success, error);
  next_.on_run_finished(r);
}

void TelemetryObserver::on_run_error(const std::string& message) {
  if (finished_) return;
  log("error", message, run_.id);
  finish_agents(nullptr);
  finish(false, message);
}

}  // namespace voidbox::runtime
