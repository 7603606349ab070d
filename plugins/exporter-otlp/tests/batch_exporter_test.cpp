// The exporter's engine against a scripted collector: batching, retries on
// 429/503 with Retry-After, a dead collector reported once, a full queue
// dropping and counting, and the settings' precedence.
#include "batch_exporter.hpp"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <vector>

namespace voidbox::otlp {
namespace {

Span sample_span(std::uint8_t n) {
  Span s;
  s.trace_id[0] = 1;
  s.span_id[0] = n;
  s.name = "span";
  s.start_ns = 1;
  s.end_ns = 2;
  return s;
}

struct ScriptedCollector {
  std::mutex mu;
  std::vector<PostOutcome> script;  // answers in order; then 200
  std::vector<std::string> urls;
  std::vector<std::string> types;

  Sender sender() {
    return [this](const std::string& url, const char* type, const std::string&,
                  const std::atomic<bool>&) {
      std::lock_guard lock(mu);
      urls.push_back(url);
      types.push_back(type);
      if (script.empty()) return PostOutcome{true, 200, "", std::nullopt};
      PostOutcome next = script.front();
      script.erase(script.begin());
      return next;
    };
  }
};

Config test_config() {
  auto c = parse_config("{\"endpoint\":\"http://collector:4318/\"}",
                        [](const char*) { return std::nullopt; });
  EXPECT_TRUE(c.has_value());
  return *c;
}

TEST(OtlpBatchExporter, SendsEachSignalToItsPathAndCountsWhatWasAccepted) {
  ScriptedCollector collector;
  BatchExporter exporter(test_config(), collector.sender(), {});
  exporter.add(sample_span(1));
  Metric m;
  m.name = "m";
  m.time_ns = 1;
  m.value = std::int64_t{3};
  exporter.add(m);
  LogRecord l;
  l.time_ns = 1;
  exporter.add(l);
  ASSERT_TRUE(exporter.flush());
  EXPECT_EQ(exporter.counts().sent, 3u);
  std::lock_guard lock(collector.mu);
  EXPECT_EQ(collector.urls, (std::vector<std::string>{"http://collector:4318/v1/traces",
                                                      "http://collector:4318/v1/metrics",
                                                      "http://collector:4318/v1/logs"}));
  EXPECT_EQ(collector.types.front(), "application/x-protobuf");
}

TEST(OtlpBatchExporter, RetriesThrottledRequestsThenDelivers) {
  ScriptedCollector collector;
  collector.script = {PostOutcome{true, 429, "", std::chrono::seconds(0)},
                      PostOutcome{true, 503, "", std::nullopt}};
  BatchExporter exporter(test_config(), collector.sender(), {});
  exporter.add(sample_span(1));
  ASSERT_TRUE(exporter.flush());
  EXPECT_EQ(exporter.counts().sent, 1u);
  EXPECT_EQ(exporter.counts().retries, 2u);
  std::lock_guard lock(collector.mu);
  EXPECT_EQ(collector.urls.size(), 3u);
}

TEST(OtlpBatchExporter, DoesNotRetryARejectedRequest) {
  ScriptedCollector collector;
  collector.script = {PostOutcome{true, 400, "", std::nullopt}};
  std::vector<std::string> warnings;
  BatchExporter exporter(test_config(), collector.sender(),
                         [&](const std::string& w) { warnings.push_back(w); });
  exporter.add(sample_span(1));
  ASSERT_TRUE(exporter.flush());
  EXPECT_EQ(exporter.counts().sent, 0u);
  EXPECT_EQ(exporter.counts().dropped_failed, 1u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("HTTP 400"), std::string::npos);
}

TEST(OtlpBatchExporter, AnUnreachableCollectorIsReportedOnceAndNotRetried) {
  ScriptedCollector collector;
  collector.script = {PostOutcome{false, 0, "Couldn't connect to server", std::nullopt}};
  std::vector<std::string> warnings;
  std::mutex warnings_mu;
  {
    BatchExporter exporter(test_config(), collector.sender(), [&](const std::string& w) {
      std::lock_guard lock(warnings_mu);
      warnings.push_back(w);
    });
    exporter.add(sample_span(1));
    ASSERT_TRUE(exporter.flush());
    exporter.add(sample_span(2));
    ASSERT_TRUE(exporter.flush());
    EXPECT_EQ(exporter.counts().dropped_failed, 2u);
  }
  std::lock_guard lock(collector.mu);
  EXPECT_EQ(collector.urls.size(), 1u);  // the second batch did not try again at once
  std::lock_guard wl(warnings_mu);
  ASSERT_EQ(warnings.size(), 2u);  // unreachable, then the summary at shutdown
  EXPECT_NE(warnings[0].find("cannot reach"), std::string::npos);
  EXPECT_NE(warnings[1].find("2 lost"), std::string::npos);
}

TEST(OtlpBatchExporter, AFullQueueDropsAndCounts) {
  Config config = test_config();
  config.queue_size = 2;
  config.batch_size = 100;
  config.batch_delay = std::chrono::hours(1);
  ScriptedCollector collector;
  BatchExporter exporter(config, collector.sender(), {});
  for (std::uint8_t i = 1; i <= 5; ++i) exporter.add(sample_span(i));
  EXPECT_EQ(exporter.counts().dropped_full, 3u);
  ASSERT_TRUE(exporter.flush());
  EXPECT_EQ(exporter.counts().sent, 2u);
}

TEST(OtlpBatchExporter, AHangingCollectorIsAbandonedWhenTheFlushGivesUp) {
  Config config = test_config();
  config.flush_timeout = std::chrono::milliseconds(200);
  std::atomic<bool> aborted{false};
  Sender hang = [&](const std::string&, const char*, const std::string&,
                    const std::atomic<bool>& abort) {
    while (!abort) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    aborted = true;
    return PostOutcome{false, 0, "aborted", std::nullopt};
  };
  {
    BatchExporter exporter(config, hang, {});
    exporter.add(sample_span(1));
    EXPECT_FALSE(exporter.flush());
    EXPECT_FALSE(aborted);  // a flush that gives up does not cancel the request by itself
  }
  // Destroying the exporter cancelled the request instead of waiting it out.
  EXPECT_TRUE(aborted);
}

TEST(OtlpConfig, ConfigBeatsVoidboxVariablesWhichBeatOtelVariables) {
  std::map<std::string, std::string> env{
      {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4318"},
      {"VOIDBOX_OTLP_SERVICE_NAME", "from-voidbox"},
      {"OTEL_SERVICE_NAME", "from-otel"},
      {"OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%3Db, x-team = blue ,broken"},
      {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
      {"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://logs:9999/custom"}};
  EnvLookup lookup = [&](const char* name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  auto from_env = parse_config("", lookup);
  ASSERT_TRUE(from_env.has_value());
  EXPECT_EQ(from_env->traces_url, "http://otel:4318/v1/traces");
  EXPECT_EQ(from_env->logs_url, "http://logs:9999/custom");
  EXPECT_EQ(from_env->encoding, Encoding::json);
  ASSERT_EQ(from_env->headers.size(), 2u);
  EXPECT_EQ(from_env->headers[0], (std::pair<std::string, std::string>{"api-key", "a=b"}));
  EXPECT_EQ(from_env->headers[1], (std::pair<std::string, std::string>{"x-team", "blue"}));
  EXPECT_EQ(std::get<std::string>(from_env->resource[0].value), "from-voidbox");

  auto from_spec =
      parse_config("{\"endpoint\":\"http://spec:4318\",\"service_name\":\"from-spec\"}", lookup);
  ASSERT_TRUE(from_spec.has_value());
  EXPECT_EQ(from_spec->metrics_url, "http://spec:4318/v1/metrics");
  EXPECT_EQ(std::get<std::string>(from_spec->resource[0].value), "from-spec");

  EXPECT_FALSE(parse_config("{\"endpoint\":\"ftp://x\"}", lookup).has_value());
}

TEST(OtlpRecords, MalformedRecordsAreRefused) {
  EXPECT_FALSE(parse_record(VB_RECORD_SPAN, "[]").has_value());
  EXPECT_FALSE(parse_record(VB_RECORD_SPAN,
                            R"({"trace_id":"zz","span_id":"0000000000000001","name":"x",)"
                            R"("start_time_unix_nano":1,"end_time_unix_nano":2})")
                   .has_value());
  EXPECT_FALSE(
      parse_record(VB_RECORD_METRIC, R"({"name":"m","time_unix_nano":1,"value":"x"})").has_value());
  EXPECT_TRUE(parse_record(VB_RECORD_LOG, R"({"time_unix_nano":1,"body":"b"})").has_value());
}

}  // namespace
}  // namespace voidbox::otlp
