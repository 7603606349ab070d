// Example plugin: an exporter that appends one JSON line per record to the
// file named by its config, e.g. {"path": "/var/log/voidbox/telemetry.jsonl"}.
// Each line is {"kind": "span"|"metric"|"log", "record": <the record>}.
//
// It uses only the SDK headers and the C++ standard library, so it has no
// JSON dependency: it extracts one string field and checks the record is an
// object, leaving real validation to the runtime that produced it.
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "voidbox/sdk/all.hpp"

namespace {

using voidbox::sdk::fail;
using voidbox::sdk::Result;

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// The value of a top-level "key": "string" in a flat JSON object. Handles the
// escapes a path can contain (\" \\ \/); anything fancier is refused.
std::optional<std::string> string_field(std::string_view json, std::string_view key) {
  const std::string quoted = "\"" + std::string(key) + "\"";
  auto at = json.find(quoted);
  if (at == std::string_view::npos) return std::nullopt;
  at = json.find_first_not_of(" \t\r\n", at + quoted.size());
  if (at == std::string_view::npos || json[at] != ':') return std::nullopt;
  at = json.find_first_not_of(" \t\r\n", at + 1);
  if (at == std::string_view::npos || json[at] != '"') return std::nullopt;
  std::string value;
  for (++at; at < json.size(); ++at) {
    char c = json[at];
    if (c == '"') return value;
    if (c == '\\') {
      if (++at >= json.size()) return std::nullopt;
      c = json[at];
      if (c != '"' && c != '\\' && c != '/') return std::nullopt;
    }
    value += c;
  }
  return std::nullopt;
}

const char* kind_name(vb_record_kind kind) {
  switch (kind) {
    case VB_RECORD_SPAN:
      return "span";
    case VB_RECORD_METRIC:
      return "metric";
    case VB_RECORD_LOG:
      return "log";
  }
  return "unknown";
}

class JsonlExporter final : public voidbox::sdk::Exporter {
 public:
  static Result<std::unique_ptr<JsonlExporter>> create(std::string_view config) {
    auto path = string_field(config, "path");
    if (!path || path->empty()) {
      return fail(VB_ERR_INVALID_ARGUMENT,
                  "config needs a \"path\" string, e.g. {\"path\": \"/tmp/t.jsonl\"}");
    }
    std::FILE* file = std::fopen(path->c_str(), "a");
    if (file == nullptr) return fail(VB_ERR_IO, "cannot open " + *path + " for appending");
    voidbox::sdk::Log::info("exporter-jsonl writing to " + *path);
    return std::make_unique<JsonlExporter>(file);
  }

  explicit JsonlExporter(std::FILE* file) : file_(file) {}
  ~JsonlExporter() override { std::fclose(file_); }
  JsonlExporter(const JsonlExporter&) = delete;
  JsonlExporter& operator=(const JsonlExporter&) = delete;

  Result<> export_record(vb_record_kind kind, std::string_view record) override {
    record = trim(record);
    if (record.size() < 2 || record.front() != '{' || record.back() != '}') {
      return fail(VB_ERR_INVALID_ARGUMENT, "record must be a JSON object");
    }
    if (record.find('\n') != std::string_view::npos) {
      return fail(VB_ERR_INVALID_ARGUMENT, "record must be on one line");
    }
    std::string line = std::string("{\"kind\":\"") + kind_name(kind) + "\",\"record\":";
    line.append(record);
    line += "}\n";
    std::lock_guard lock(mutex_);
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size()) {
      return fail(VB_ERR_IO, "write failed");
    }
    return {};
  }

  Result<> flush() override {
    std::lock_guard lock(mutex_);
    if (std::fflush(file_) != 0) return fail(VB_ERR_IO, "flush failed");
    return {};
  }

 private:
  std::mutex mutex_;
  std::FILE* file_;
};

Result<> init(voidbox::sdk::Registrar& registrar) {
  return registrar.add_exporter("jsonl", voidbox::sdk::exporter_vtable<JsonlExporter>());
}

}  // namespace

VOIDBOX_DEFINE_PLUGIN("exporter-jsonl", JSONL_EXPORTER_VERSION,
                      "Appends telemetry records as JSON lines to a file", init)
