// Whether a run exports telemetry, and the exporter it goes through: on when
// the spec's `observe` block asks for traces, metrics, logs or names an
// otlp_endpoint, or when VOIDBOX_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_*ENDPOINT
// is set; off with OTEL_SDK_DISABLED=true. The exporter is the plugin
// registered as "otlp" (plugins/exporter-otlp).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/telemetry_observer.hpp"
#include "voidbox/plugin/exporter.hpp"
#include "voidbox/plugin/registry.hpp"

namespace voidbox::runtime {

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

std::optional<TelemetrySignals> telemetry_wanted(const spec::RunSpec& spec, const EnvLookup& env);
// The exporter's config JSON from the spec's observe block.
std::string exporter_config(const spec::RunSpec& spec);

// A run's telemetry: the observer in front of the caller's, and the exporter
// it feeds. Destroying it ends the spans still open and flushes the
// exporter (bounded by the exporter's flush timeout).
class RunTelemetry {
 public:
  // Null when the run exports nothing; `warnings` gets why an export that
  // was asked for cannot happen (no plugin, a bad endpoint).
  static std::unique_ptr<RunTelemetry> start(
      const spec::RunSpec& spec, RunObserver& next,
      const std::function<const plugin::Registry&()>& plugins, std::vector<std::string>& warnings);
  RunTelemetry(std::unique_ptr<plugin::Exporter> exporter, RunObserver& next,
               const spec::RunSpec& spec, TelemetrySignals signals);
  ~RunTelemetry();
  RunTelemetry(const RunTelemetry&) = delete;
  RunTelemetry& operator=(const RunTelemetry&) = delete;

  TelemetryObserver& observer() { return *observer_; }

 private:
  std::unique_ptr<plugin::Exporter> exporter_;
  std::unique_ptr<TelemetryObserver> observer_;
};

}  // namespace voidbox::runtime
