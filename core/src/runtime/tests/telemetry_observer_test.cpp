// The run events of an agent stage, scripted, into telemetry records: the
// GenAI attributes on the agent span, a child span per tool call, metrics
// and log records in the run's trace, and the events passed on unchanged.
#include "runtime/telemetry_observer.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <vector>

#include "runtime/telemetry_setup.hpp"

namespace voidbox::runtime {
namespace {

namespace json = boost::json;

struct Records {
  std::vector<json::object> spans, metrics, logs;
  RecordSink sink() {
    return [this](vb_record_kind kind, const std::string& text) {
      json::object o = json::parse(text).as_object();
      (kind == VB_RECORD_SPAN ? spans : kind == VB_RECORD_METRIC ? metrics : logs).push_back(o);
    };
  }
  const json::object& span(std::string_view name) const {
    for (const auto& s : spans) {
      if (s.at("name").as_string() == name) return s;
    }
    ADD_FAILURE() << "no span " << name;
    static const json::object none;
    return none;
  }
};

struct CountingObserver : RunObserver {
  int activities = 0;
  int finished = 0;
  void on_agent_activity(const AgentActivity&) override { ++activities; }
  void on_run_finished(const RunResult&) override { ++finished; }
};

AgentActivity activity(const std::string& stage, AgentActivity::Type type) {
  return AgentActivity{stage, type, "", "", "", "", "", false};
}

spec::RunSpec agent_spec() {
  spec::RunSpec spec;
  spec.kind = spec::Kind::agent;
  spec.name = "fixer";
  spec.llm.emplace();
  spec.llm->provider = "claude";
  spec.llm->model = "claude-sonnet-4";
  return spec;
}

TEST(TelemetryObserver, AnAgentStageBecomesAGenAiSpanWithAToolSpanPerCall) {
  const spec::RunSpec spec = agent_spec();
  Records records;
  CountingObserver next;
  {
    TelemetryObserver t(next, spec, {}, records.sink());
    const std::string stage = "fixer";
    t.on_run_started({spec::Kind::agent, "fixer"});
    t.on_stage_started(stage);
    t.on_sandbox_ready(SandboxInfo{"kvm", true, "", "", "6.1", {}, {}});
    AgentActivity init = activity(stage, AgentActivity::Type::init);
    init.model = "claude-sonnet-4-20250514";
    init.session_id = "sess-1";
    t.on_agent_activity(init);
    for (const char* tool : {"Read", "Bash"}) {
      AgentActivity use = activity(stage, AgentActivity::Type::tool_use);
      use.tool = tool;
      t.on_agent_activity(use);
      AgentActivity result = activity(stage, AgentActivity::Type::tool_result);
      result.is_error = std::string(tool) == "Bash";
      t.on_agent_activity(result);
    }
    AgentActivity done = activity(stage, AgentActivity::Type::result);
    t.on_agent_activity(done);
    t.on_stage_finished({stage, false});
    RunResult r;
    r.kind = spec::Kind::agent;
    AgentOutcome o;
    o.stage = stage;
    o.success = false;
    o.error = "hit the turn limit";
    o.subtype = "error_max_turns";
    o.model = "claude-sonnet-4-20250514";
    o.session_id = "sess-1";
    o.input_tokens = 1200;
    o.output_tokens = 345;
    o.tool_calls = {"Read", "Bash"};
    r.agents.push_back(o);
    t.on_run_finished(r);
  }
  EXPECT_EQ(next.activities, 6);
  EXPECT_EQ(next.finished, 1);

  const auto& run = records.span("voidbox.run fixer");
  const auto& stage = records.span("stage fixer");
  const auto& agent = records.span("invoke_agent fixer");
  EXPECT_EQ(stage.at("parent_span_id"), run.at("span_id"));
  EXPECT_EQ(agent.at("parent_span_id"), stage.at("span_id"));
  EXPECT_EQ(agent.at("status"), "error");
  const auto& a = agent.at("attributes").as_object();
  EXPECT_EQ(a.at("gen_ai.operation.name"), "invoke_agent");
  EXPECT_EQ(a.at("gen_ai.system"), "anthropic");
  EXPECT_EQ(a.at("gen_ai.request.model"), "claude-sonnet-4");
  EXPECT_EQ(a.at("gen_ai.response.model"), "claude-sonnet-4-20250514");
  EXPECT_EQ(a.at("gen_ai.usage.input_tokens").to_number<std::int64_t>(), 1200);
  EXPECT_EQ(a.at("gen_ai.usage.output_tokens").to_number<std::int64_t>(), 345);
  EXPECT_EQ(a.at("gen_ai.conversation.id"), "sess-1");
  EXPECT_EQ(a.at("error.type"), "error_max_turns");

  const auto& read = records.span("execute_tool Read");
  const auto& bash = records.span("execute_tool Bash");
  EXPECT_EQ(read.at("parent_span_id"), agent.at("span_id"));
  EXPECT_EQ(bash.at("parent_span_id"), agent.at("span_id"));
  EXPECT_EQ(read.at("status"), "ok");
  EXPECT_EQ(bash.at("status"), "error");
  EXPECT_EQ(bash.at("attributes").at("gen_ai.tool.name"), "Bash");
  EXPECT_LE(read.at("end_time_unix_nano").to_number<std::uint64_t>(),
            bash.at("start_time_unix_nano").to_number<std::uint64_t>());

  for (const auto& s : records.spans) EXPECT_EQ(s.at("trace_id"), run.at("trace_id"));
  bool saw_tokens = false;
  for (const auto& m : records.metrics) {
    if (m.at("name") == "voidbox.agent.tokens" &&
        m.at("attributes").at("gen_ai.token.type") == "output") {
      saw_tokens = m.at("value").to_number<std::int64_t>() == 345;
    }
  }
  EXPECT_TRUE(saw_tokens);
}

TEST(TelemetryObserver, ARunThatFailedWithAnErrorEndsItsSpansAndLogsTheError) {
  const spec::RunSpec spec = agent_spec();
  Records records;
  RunObserver next;
  {
    TelemetryObserver t(next, spec, {}, records.sink());
    t.on_run_started({spec::Kind::agent, "fixer"});
    t.on_stage_started("fixer");
    t.on_run_error("no kernel found");
  }
  EXPECT_EQ(records.span("voidbox.run fixer").at("status"), "error");
  EXPECT_EQ(records.span("sandbox.boot").at("status"), "error");
  ASSERT_EQ(records.logs.size(), 1u);
  EXPECT_EQ(records.logs[0].at("severity"), "error");
  EXPECT_EQ(records.logs[0].at("trace_id"), records.span("voidbox.run fixer").at("trace_id"));
  bool failed_status = false;
  for (const auto& m : records.metrics) {
    if (m.at("name") == "voidbox.run.exit_status") {
      failed_status = m.at("value").to_number<std::int64_t>() == 1;
    }
  }
  EXPECT_TRUE(failed_status);
}

TEST(TelemetryObserver, OnlyTheSignalsAskedForAreRecorded) {
  const spec::RunSpec spec = agent_spec();
  Records records;
  RunObserver next;
  {
    TelemetryObserver t(next, spec, TelemetrySignals{false, true, false}, records.sink());
    t.on_run_started({spec::Kind::agent, "fixer"});
    t.on_warning("careful");
    t.on_run_finished(RunResult{});
  }
  EXPECT_TRUE(records.spans.empty());
  EXPECT_TRUE(records.logs.empty());
  EXPECT_FALSE(records.metrics.empty());
}

TEST(TelemetrySetup, ExportIsOnWhenTheSpecOrTheEnvironmentAsks) {
  spec::RunSpec spec;
  auto none = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  EXPECT_FALSE(telemetry_wanted(spec, none).has_value());
  auto otel = [](const std::string& n) -> std::optional<std::string> {
    if (n == "OTEL_EXPORTER_OTLP_ENDPOINT") return "http://c:4318";
    return std::nullopt;
  };
  EXPECT_TRUE(telemetry_wanted(spec, otel).has_value());
  spec.observe.emplace();
  spec.observe->traces = true;
  auto signals = telemetry_wanted(spec, none);
  ASSERT_TRUE(signals.has_value());
  EXPECT_TRUE(signals->traces);
  EXPECT_FALSE(signals->metrics);
  auto disabled = [](const std::string& n) -> std::optional<std::string> {
    if (n == "OTEL_SDK_DISABLED") return "true";
    return std::nullopt;
  };
  EXPECT_FALSE(telemetry_wanted(spec, disabled).has_value());
}

}  // namespace
}  // namespace voidbox::runtime
