// Where and how the exporter sends: from its JSON config (what the runtime
// passes from the spec's `observe` block), then VOIDBOX_OTLP_*, then the
// standard OTEL_* variables, then the OTLP defaults (http://localhost:4318,
// http/protobuf).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "otlp_encoding.hpp"
#include "voidbox/sdk/error.hpp"

namespace voidbox::otlp {

using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
EnvLookup process_env();

struct Config {
  std::string traces_url;
  std::string metrics_url;
  std::string logs_url;
  std::vector<std::pair<std::string, std::string>> headers;
  Attributes resource;  // service.name first
  Encoding encoding = Encoding::protobuf;
  std::chrono::milliseconds timeout{10'000};       // one request
  std::chrono::milliseconds flush_timeout{5'000};  // what flush() waits at most
  std::chrono::milliseconds batch_delay{500};      // how long a partial batch waits
  std::size_t queue_size = 2048;
  std::size_t batch_size = 512;
  int max_attempts = 5;               // per batch, on 429/502/503/504
  std::vector<std::string> warnings;  // settings that were ignored, and why
};

sdk::Result<Config> parse_config(std::string_view json, const EnvLookup& env);

// "k1=v1,k2=v2" with percent-encoded values (OTEL_EXPORTER_OTLP_HEADERS,
// OTEL_RESOURCE_ATTRIBUTES); malformed members are skipped.
std::vector<std::pair<std::string, std::string>> parse_key_values(std::string_view text);

}  // namespace voidbox::otlp
