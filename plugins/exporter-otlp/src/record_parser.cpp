// The runtime's JSON records into the typed model. Everything is checked:
// ids must be hex of the right length, times unsigned integers, attribute
// values scalars; a record that fails is refused whole.
#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <limits>
#include <optional>

#include "otlp_model.hpp"

namespace voidbox::otlp {
namespace {

namespace json = boost::json;
using sdk::fail;
using sdk::Result;

constexpr std::size_t kMaxRecordBytes = 1 << 20;
constexpr std::size_t kMaxAttributes = 128;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "" (absent) leaves the id all zero.
template <std::size_t N>
Result<std::array<std::uint8_t, N>> hex_id(const json::object& o, std::string_view key) {
  std::array<std::uint8_t, N> id{};
  const auto* v = o.if_contains(key);
  if (v == nullptr || (v->is_string() && v->as_string().empty())) return id;
  if (!v->is_string() || v->as_string().size() != 2 * N) {
    return fail(VB_ERR_INVALID_ARGUMENT,
                std::string(key) + " must be " + std::to_string(2 * N) + " hex digits");
  }
  const auto& s = v->as_string();
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = hex_digit(s[2 * i]);
    const int lo = hex_digit(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return fail(VB_ERR_INVALID_ARGUMENT, std::string(key) + " is not hex");
    id[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return id;
}

std::string string_or(const json::object& o, std::string_view key, std::string fallback = {}) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return fallback;
  return std::string(v->as_string());
}

std::optional<std::uint64_t> unsigned_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
  return std::nullopt;
}

Result<std::uint64_t> required_time(const json::object& o, std::string_view key) {
  auto t = unsigned_field(o, key);
  if (!t) return fail(VB_ERR_INVALID_ARGUMENT, std::string(key) + " must be an unsigned integer");
  return *t;
}

Result<Attributes> attributes(const json::object& o) {
  Attributes out;
  const auto* v = o.if_contains("attributes");
  if (v == nullptr) return out;
  if (!v->is_object()) return fail(VB_ERR_INVALID_ARGUMENT, "attributes must be an object");
  if (v->as_object().size() > kMaxAttributes) {
    return fail(VB_ERR_INVALID_ARGUMENT, "more than 128 attributes");
  }
  for (const auto& [key, value] : v->as_object()) {
    Attribute a{std::string(key), std::string()};
    if (value.is_string()) {
      a.value = std::string(value.as_string());
    } else if (value.is_bool()) {
      a.value = value.as_bool();
    } else if (value.is_int64()) {
      a.value = value.as_int64();
    } else if (value.is_uint64()) {
      a.value = static_cast<std::int64_t>(
          std::min<std::uint64_t>(value.as_uint64(), std::numeric_limits<std::int64_t>::max()));
    } else if (value.is_double()) {
      a.value = value.as_double();
    } else {
      return fail(VB_ERR_INVALID_ARGUMENT, "attribute " + a.key + " must be a scalar");
    }
    out.push_back(std::move(a));
  }
  return out;
}

int span_kind(std::string_view name) {
  if (name == "server") return 2;
  if (name == "client") return 3;
  if (name == "producer") return 4;
  if (name == "consumer") return 5;
  return 1;
}

Result<Record> parse_span(const json::object& o) {
  Span s;
  auto trace = hex_id<16>(o, "trace_id");
  if (!trace) return std::unexpected(trace.error());
  auto id = hex_id<8>(o, "span_id");
  if (!id) return std::unexpected(id.error());
  auto parent = hex_id<8>(o, "parent_span_id");
  if (!parent) return std::unexpected(parent.error());
  if (is_zero(*trace) || is_zero(*id)) {
    return fail(VB_ERR_INVALID_ARGUMENT, "a span needs trace_id and span_id");
  }
  s.trace_id = *trace;
  s.span_id = *id;
  s.parent_span_id = *parent;
  s.name = string_or(o, "name");
  if (s.name.empty()) return fail(VB_ERR_INVALID_ARGUMENT, "a span needs a name");
  s.kind = span_kind(string_or(o, "kind", "internal"));
  auto start = required_time(o, "start_time_unix_nano");
  if (!start) return std::unexpected(start.error());
  auto end = required_time(o, "end_time_unix_nano");
  if (!end) return std::unexpected(end.error());
  s.start_ns = *start;
  s.end_ns = std::max(*start, *end);
  const std::string status = string_or(o, "status");
  s.status_code = status == "ok" ? 1 : status == "error" ? 2 : 0;
  s.status_message = string_or(o, "status_message");
  auto attrs = attributes(o);
  if (!attrs) return std::unexpected(attrs.error());
  s.attributes = std::move(*attrs);
  return s;
}

Result<Record> parse_metric(const json::object& o) {
  Metric m;
  m.name = string_or(o, "name");
  if (m.name.empty()) return fail(VB_ERR_INVALID_ARGUMENT, "a metric needs a name");
  m.description = string_or(o, "description");
  m.unit = string_or(o, "unit");
  const std::string type = string_or(o, "type", "gauge");
  if (type != "gauge" && type != "sum") {
    return fail(VB_ERR_INVALID_ARGUMENT, "metric type must be gauge or sum");
  }
  m.is_sum = type == "sum";
  if (const auto* mono = o.if_contains("monotonic"); mono != nullptr && mono->is_bool()) {
    m.monotonic = mono->as_bool();
  }
  auto time = required_time(o, "time_unix_nano");
  if (!time) return std::unexpected(time.error());
  m.time_ns = *time;
  m.start_ns = unsigned_field(o, "start_time_unix_nano").value_or(0);
  const auto* v = o.if_contains("value");
  if (v == nullptr) return fail(VB_ERR_INVALID_ARGUMENT, "a metric needs a value");
  if (v->is_int64()) {
    m.value = v->as_int64();
  } else if (v->is_uint64()) {
    m.value = static_cast<double>(v->as_uint64());
  } else if (v->is_double()) {
    m.value = v->as_double();
  } else {
    return fail(VB_ERR_INVALID_ARGUMENT, "metric value must be a number");
  }
  auto attrs = attributes(o);
  if (!attrs) return std::unexpected(attrs.error());
  m.attributes = std::move(*attrs);
  return m;
}

// OTLP's SeverityNumber for the usual level names.
int severity_number(std::string_view level) {
  if (level == "trace") return 1;
  if (level == "debug") return 5;
  if (level == "warn" || level == "warning") return 13;
  if (level == "error") return 17;
  if (level == "fatal") return 21;
  return 9;
}

Result<Record> parse_log(const json::object& o) {
  LogRecord l;
  auto time = required_time(o, "time_unix_nano");
  if (!time) return std::unexpected(time.error());
  l.time_ns = *time;
  const std::string level = string_or(o, "severity", "info");
  l.severity_number = severity_number(level);
  l.severity_text = level;
  std::ranges::transform(l.severity_text, l.severity_text.begin(),
                         [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  l.body = string_or(o, "body");
  auto trace = hex_id<16>(o, "trace_id");
  if (!trace) return std::unexpected(trace.error());
  auto span = hex_id<8>(o, "span_id");
  if (!span) return std::unexpected(span.error());
  l.trace_id = *trace;
  l.span_id = *span;
  auto attrs = attributes(o);
  if (!attrs) return std::unexpected(attrs.error());
  l.attributes = std::move(*attrs);
  return l;
}

}  // namespace

bool is_zero(std::span<const std::uint8_t> id) {
  return std::ranges::all_of(id, [](std::uint8_t b) { return b == 0; });
}

Result<Record> parse_record(vb_record_kind kind, std::string_view text) {
  if (text.size() > kMaxRecordBytes) return fail(VB_ERR_INVALID_ARGUMENT, "record over 1 MiB");
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return fail(VB_ERR_INVALID_ARGUMENT, "record must be a JSON object");
  const auto& o = v.as_object();
  switch (kind) {
    case VB_RECORD_SPAN:
      return parse_span(o);
    case VB_RECORD_METRIC:
      return parse_metric(o);
    case VB_RECORD_LOG:
      return parse_log(o);
  }
  return fail(VB_ERR_INVALID_ARGUMENT, "unknown record kind");
}

}  // namespace voidbox::otlp
