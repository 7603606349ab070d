// Turns a run's events into telemetry records (the exporter record format
// of plugins/exporter-otlp/README.md) and forwards every event unchanged to
// the next observer. Spans: run -> stage -> sandbox boot, workflow step ->
// exec, agent (OpenTelemetry GenAI conventions) -> one span per tool call.
// Metrics: the run's duration, stage count and exit status, agent token
// usage. Logs: warnings and errors, carrying the trace context.
//
// Calls must be serialised (the runtime's SerialObserver does that).
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "voidbox/events.hpp"
#include "voidbox/plugin_abi.h"
#include "voidbox/spec.hpp"

namespace voidbox::runtime {

using RecordSink = std::function<void(vb_record_kind kind, const std::string& record_json)>;

struct TelemetrySignals {
  bool traces = true;
  bool metrics = true;
  bool logs = true;
};

class TelemetryObserver final : public RunObserver {
 public:
  TelemetryObserver(RunObserver& next, const spec::RunSpec& spec, TelemetrySignals signals,
                    RecordSink sink);
  // A run that never finished (run() returned an Error) still gets its
  // spans, ended now with status error.
  ~TelemetryObserver() override;

  // The run failed with an Error instead of a result.
  void on_run_error(const std::string& message);

  void on_run_started(const RunStarted& e) override;
  void on_warning(const std::string& text) override;
  void on_stage_started(const std::string& stage) override;
  void on_sandbox_ready(const SandboxInfo& box) override;
  void on_step_started(const std::string& step) override;
  void on_output(const OutputChunk& chunk) override { next_.on_output(chunk); }
  void on_step_finished(const StepResult& r) override;
  void on_agent_activity(const AgentActivity& a) override;
  void on_stage_finished(const StageResult& r) override;
  void on_run_finished(const RunResult& r) override;

  const std::string& trace_id() const noexcept { return trace_id_; }
  // "00-<trace>-<the step's exec span>-01" once the step started, else "".
  // Safe from any thread.
  std::string traceparent(const std::string& step) const;

 private:
  struct OpenSpan {
    std::string id;
    std::string parent;
    std::string name;
    std::uint64_t start_ns = 0;
    std::uint64_t end_ns = 0;  // 0: still open
  };
  struct AgentSpans {
    OpenSpan agent;
    std::deque<OpenSpan> open_tools;               // a tool_result ends the oldest
    std::vector<std::pair<OpenSpan, bool>> tools;  // ended, with is_error
  };

  std::string new_span_id();
  std::string stage_span_id(const std::string& stage) const;
  void span(const OpenSpan& s, const std::string& status, const std::string& message,
            boost::json::object attributes);
  void log(const char* severity, const std::string& body, const std::string& span_id);
  void metric(const char* name, const char* unit, const char* description, boost::json::value value,
              boost::json::object attributes);
  void finish_agents(const RunResult* result);
  void finish(bool success, const std::string& error);
  boost::json::object run_attributes() const;

  RunObserver& next_;
  const spec::RunSpec& spec_;
  TelemetrySignals signals_;
  RecordSink sink_;
  std::mt19937_64 random_;

  std::string trace_id_;
  OpenSpan run_;
  std::string run_kind_;
  bool finished_ = false;
  std::map<std::string, OpenSpan> stages_;
  std::vector<std::string> stage_order_;  // started, oldest first
  std::string booting_;                   // the stage whose sandbox is starting
  std::map<std::string, OpenSpan> boots_;
  std::map<std::string, OpenSpan> steps_;
  mutable std::mutex exec_ids_mu_;
  std::map<std::string, std::string> exec_ids_;  // step -> its exec span's id
  std::map<std::string, AgentSpans> agents_;
};

}  // namespace voidbox::runtime
