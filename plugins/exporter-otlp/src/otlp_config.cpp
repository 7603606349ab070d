#include "otlp_config.hpp"

#include <boost/json.hpp>
#include <cstdlib>

namespace voidbox::otlp {
namespace {

namespace json = boost::json;
using sdk::fail;
using sdk::Result;

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return std::string(s.substr(first, last - first + 1));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// The first of: the config's string `key`, then each variable in `vars`.
std::optional<std::string> setting(const json::object& config, std::string_view key,
                                   std::initializer_list<const char*> vars, const EnvLookup& env) {
  if (const auto* v = config.if_contains(key); v != nullptr && v->is_string()) {
    if (!v->as_string().empty()) return std::string(v->as_string());
  }
  for (const char* var : vars) {
    if (auto value = env(var); value && !value->empty()) return value;
  }
  return std::nullopt;
}

Result<std::string> checked_url(std::string url, const char* what) {
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    return fail(VB_ERR_INVALID_ARGUMENT,
                std::string(what) + " must be an http:// or https:// URL, not '" + url + "'");
  }
  return url;
}

std::string join(std::string base, std::string_view path) {
  while (base.ends_with('/')) base.pop_back();
  return base + std::string(path);
}

template <class T>
void unsigned_setting(const json::object& config, std::string_view key, T& out) {
  if (const auto* v = config.if_contains(key); v != nullptr && v->is_uint64()) {
    out = static_cast<T>(v->as_uint64());
  } else if (v != nullptr && v->is_int64() && v->as_int64() > 0) {
    out = static_cast<T>(v->as_int64());
  }
}

}  // namespace

EnvLookup process_env() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::vector<std::pair<std::string, std::string>> parse_key_values(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view member = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const auto eq = member.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key = trim(percent_decode(member.substr(0, eq)));
    if (key.empty()) continue;
    out.emplace_back(std::move(key), trim(percent_decode(member.substr(eq + 1))));
  }
  return out;
}

Result<Config> parse_config(std::string_view text, const EnvLookup& env) {
  json::object config;
  if (!text.empty()) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) return fail(VB_ERR_INVALID_ARGUMENT, "config must be a JSON object");
    config = std::move(v.as_object());
  }
  Config c;
  const std::string base =
      setting(config, "endpoint", {"VOIDBOX_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"}, env)
          .value_or("http://localhost:4318");
  struct Signal {
    const char* key;
    const char* var;
    const char* path;
    std::string* url;
  };
  for (const Signal& s :
       {Signal{"traces_endpoint", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "/v1/traces",
               &c.traces_url},
        Signal{"metrics_endpoint", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "/v1/metrics",
               &c.metrics_url},
        Signal{"logs_endpoint", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "/v1/logs", &c.logs_url}}) {
    // A signal's own endpoint is the full URL; the shared one gets the path.
    auto own = setting(config, s.key, {s.var}, env);
    auto url = checked_url(own ? *own : join(base, s.path), s.key);
    if (!url) return std::unexpected(url.error());
    *s.url = std::move(*url);
  }

  if (const auto* h = config.if_contains("headers"); h != nullptr && h->is_object()) {
    for (const auto& [k, v] : h->as_object()) {
      if (v.is_string()) c.headers.emplace_back(std::string(k), std::string(v.as_string()));
    }
  } else if (auto from_env =
                 setting(config, "", {"VOIDBOX_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"}, env)) {
    c.headers = parse_key_values(*from_env);
  }

  const std::string protocol =
      setting(config, "protocol", {"VOIDBOX_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"}, env)
          .value_or("http/protobuf");
  if (protocol == "http/json") {
    c.encoding = Encoding::json;
  } else if (protocol != "http/protobuf") {
    c.warnings.push_back("OTLP protocol '" + protocol +
                         "' is not supported; sending http/protobuf");
  }

  std::string service =
      setting(config, "service_name", {"VOIDBOX_OTLP_SERVICE_NAME", "OTEL_SERVICE_NAME"}, env)
          .value_or("");
  Attributes extra;
  if (auto attrs = env("OTEL_RESOURCE_ATTRIBUTES")) {
    for (auto& [k, v] : parse_key_values(*attrs)) {
      if (k == "service.name") {
        if (service.empty()) service = v;
      } else {
        extra.push_back({std::move(k), std::move(v)});
      }
    }
  }
  c.resource.push_back({"service.name", service.empty() ? std::string("voidbox") : service});
  c.resource.push_back({"telemetry.sdk.name", std::string("voidbox")});
  c.resource.push_back({"telemetry.sdk.language", std::string("cpp")});
  for (auto& a : extra) c.resource.push_back(std::move(a));

  if (auto t = setting(config, "", {"OTEL_EXPORTER_OTLP_TIMEOUT"}, env)) {
    char* end = nullptr;
    const long ms = std::strtol(t->c_str(), &end, 10);
    if (end != t->c_str() && *end == '\0' && ms > 0) c.timeout = std::chrono::milliseconds(ms);
  }
  std::uint64_t ms = 0;
  unsigned_setting(config, "timeout_ms", ms);
  if (ms > 0) c.timeout = std::chrono::milliseconds(ms);
  ms = 0;
  unsigned_setting(config, "flush_timeout_ms", ms);
  if (ms > 0) c.flush_timeout = std::chrono::milliseconds(ms);
  unsigned_setting(config, "queue_size", c.queue_size);
  unsigned_setting(config, "batch_size", c.batch_size);
  if (c.queue_size == 0) c.queue_size = 1;
  if (c.batch_size == 0) c.batch_size = 1;
  return c;
}

}  // namespace voidbox::otlp
