// The exporter-otlp plugin: registers the exporter "otlp", which ships the
// runtime's spans, metrics and logs to an OpenTelemetry collector over
// OTLP/HTTP (protobuf, or JSON with protocol http/json).
#include <memory>
#include <string>
#include <string_view>

#include "batch_exporter.hpp"
#include "otlp_config.hpp"
#include "voidbox/sdk/all.hpp"

namespace {

using voidbox::sdk::fail;
using voidbox::sdk::Result;
namespace otlp = voidbox::otlp;

class OtlpExporter final : public voidbox::sdk::Exporter {
 public:
  static Result<std::unique_ptr<OtlpExporter>> create(std::string_view config_json) {
    auto config = otlp::parse_config(config_json, otlp::process_env());
    if (!config) return std::unexpected(config.error());
    for (const auto& w : config->warnings) voidbox::sdk::Log::warn("exporter-otlp: " + w);
    voidbox::sdk::Log::debug("exporter-otlp: sending traces to " + config->traces_url);
    auto poster = std::make_shared<otlp::HttpPoster>();
    const auto timeout = config->timeout;
    const auto headers = config->headers;
    otlp::Sender send = [poster, timeout, headers](const std::string& url, const char* type,
                                                   const std::string& body,
                                                   const std::atomic<bool>& abort) {
      return poster->post(url, type, body, headers, timeout, abort);
    };
    return std::make_unique<OtlpExporter>(std::move(*config), std::move(send));
  }

  OtlpExporter(otlp::Config config, otlp::Sender send)
      : engine_(std::move(config), std::move(send),
                [](const std::string& message) { voidbox::sdk::Log::warn(message); }) {}

  Result<> export_record(vb_record_kind kind, std::string_view record_json) override {
    auto record = otlp::parse_record(kind, record_json);
    if (!record) return std::unexpected(record.error());
    engine_.add(std::move(*record));
    return {};
  }

  Result<> flush() override {
    if (!engine_.flush()) return fail(VB_ERR_TIMEOUT, "exporter-otlp: flush timed out");
    return {};
  }

 private:
  otlp::BatchExporter engine_;
};

Result<> init(voidbox::sdk::Registrar& registrar) {
  return registrar.add_exporter("otlp", voidbox::sdk::exporter_vtable<OtlpExporter>());
}

}  // namespace

VOIDBOX_DEFINE_PLUGIN("exporter-otlp", "1.0.0",
                      "Ships spans, metrics and logs to an OpenTelemetry collector (OTLP/HTTP)",
                      init)
