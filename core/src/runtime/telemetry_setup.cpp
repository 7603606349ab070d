#include "runtime/telemetry_setup.hpp"

#include <boost/json.hpp>
#include <cstdlib>

#include "voidbox/log.hpp"

namespace voidbox::runtime {

std::optional<TelemetrySignals> telemetry_wanted(const spec::RunSpec& spec, const EnvLookup& env) {
  if (auto disabled = env("OTEL_SDK_DISABLED"); disabled && *disabled == "true") {
    return std::nullopt;
  }
  if (spec.observe) {
    const auto& o = *spec.observe;
    if (o.traces || o.metrics || o.logs) return TelemetrySignals{o.traces, o.metrics, o.logs};
    if (o.otlp_endpoint) return TelemetrySignals{};
  }
  for (const char* var :
       {"VOIDBOX_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"}) {
    if (auto v = env(var); v && !v->empty()) return TelemetrySignals{};
  }
  return std::nullopt;
}

std::string exporter_config(const spec::RunSpec& spec) {
  boost::json::object config;
  if (spec.observe) {
    if (spec.observe->otlp_endpoint) config["endpoint"] = *spec.observe->otlp_endpoint;
    if (spec.observe->service_name) config["service_name"] = *spec.observe->service_name;
    if (spec.observe->telemetry_buffer_size) {
      config["queue_size"] = *spec.observe->telemetry_buffer_size;
    }
  }
  return boost::json::serialize(config);
}

std::unique_ptr<RunTelemetry> RunTelemetry::start(
    const spec::RunSpec& spec, RunObserver& next,
    const std::function<const plugin::Registry&()>& plugins, std::vector<std::string>& warnings) {
  auto signals = telemetry_wanted(spec, [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  });
  if (!signals) return nullptr;
  auto factory = plugins().exporter("otlp");
  if (!factory) {
    warnings.push_back("telemetry export was asked for, but no 'otlp' exporter plugin is loaded (" +
                       factory.error().message + "); the run exports nothing");
    return nullptr;
  }
  auto exporter = factory->create(exporter_config(spec));
  if (!exporter) {
    warnings.push_back("telemetry export is off: " + exporter.error().message);
    return nullptr;
  }
  return std::make_unique<RunTelemetry>(std::move(*exporter), next, spec, *signals);
}

RunTelemetry::RunTelemetry(std::unique_ptr<plugin::Exporter> exporter, RunObserver& next,
                           const spec::RunSpec& spec, TelemetrySignals signals)
    : exporter_(std::move(exporter)) {
  plugin::Exporter* to = exporter_.get();
  observer_ = std::make_unique<TelemetryObserver>(
      next, spec, signals, [to](vb_record_kind kind, const std::string& record) {
        // A refused record is a bug in this runtime, not the user's problem.
        if (auto sent = to->export_record(kind, record); !sent) {
          log::write(log::Level::debug, "telemetry", "record refused: " + sent.error().message);
        }
      });
}

RunTelemetry::~RunTelemetry() {
  observer_.reset();
  if (auto flushed = exporter_->flush(); !flushed) {
    log::write(log::Level::warn, "telemetry", flushed.error().message);
  }
}

}  // namespace voidbox::runtime
