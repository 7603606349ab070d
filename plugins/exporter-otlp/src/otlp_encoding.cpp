// Field numbers are those of opentelemetry-proto (trace/v1, metrics/v1,
// logs/v1, common/v1, resource/v1); OTLP/JSON follows the same messages with
// lowerCamelCase names, hex ids and 64-bit integers as strings.
#include "otlp_encoding.hpp"

#include <boost/json.hpp>

#include "proto_writer.hpp"

namespace voidbox::otlp {
namespace {

namespace json = boost::json;

// ---- protobuf ----

ProtoWriter any_value(const Attribute& a) {
  ProtoWriter v;
  if (const auto* s = std::get_if<std::string>(&a.value)) {
    v.bytes_field(1, *s);
  } else if (const auto* b = std::get_if<bool>(&a.value)) {
    v.bool_field(2, *b);
  } else if (const auto* i = std::get_if<std::int64_t>(&a.value)) {
    v.int64_field(3, *i);
  } else {
    v.double_field(4, std::get<double>(a.value));
  }
  return v;
}

void put_attributes(ProtoWriter& into, std::uint32_t field, const Attributes& attributes) {
  for (const auto& a : attributes) {
    ProtoWriter kv;
    kv.bytes_field(1, a.key);
    kv.message_field(2, any_value(a));
    into.message_field(field, kv);
  }
}

std::string_view id_bytes(std::span<const std::uint8_t> id) {
  return {reinterpret_cast<const char*>(id.data()), id.size()};
}

ProtoWriter resource_message(const Origin& origin) {
  ProtoWriter r;
  put_attributes(r, 1, origin.resource);
  return r;
}

ProtoWriter scope_message(const Origin& origin) {
  ProtoWriter s;
  s.string_if_set(1, origin.scope_name);
  s.string_if_set(2, origin.scope_version);
  return s;
}

// Resource{Spans,Metrics,Logs}: resource = 1, scope_* = 2; Scope*: scope =
// 1, items = 2. The three signals share that shape.
std::string wrap(const Origin& origin, const ProtoWriter& items) {
  ProtoWriter scoped;
  scoped.message_field(1, scope_message(origin));
  const std::string scoped_bytes = scoped.bytes() + items.bytes();
  ProtoWriter resource_level;
  resource_level.message_field(1, resource_message(origin));
  resource_level.bytes_field(2, scoped_bytes);
  ProtoWriter request;
  request.message_field(1, resource_level);
  return std::move(request).take();
}

std::string spans_protobuf(const std::vector<Span>& spans, const Origin& origin) {
  ProtoWriter items;
  for (const auto& s : spans) {
    ProtoWriter m;
    m.bytes_field(1, id_bytes(s.trace_id));
    m.bytes_field(2, id_bytes(s.span_id));
    if (!is_zero(s.parent_span_id)) m.bytes_field(4, id_bytes(s.parent_span_id));
    m.bytes_field(5, s.name);
    m.varint_field(6, static_cast<std::uint64_t>(s.kind));
    m.fixed64_field(7, s.start_ns);
    m.fixed64_field(8, s.end_ns);
    put_attributes(m, 9, s.attributes);
    ProtoWriter status;
    status.string_if_set(2, s.status_message);
    status.varint_if_set(3, static_cast<std::uint64_t>(s.status_code));
    m.message_field(15, status);
    items.message_field(2, m);
  }
  return wrap(origin, items);
}

std::string metrics_protobuf(const std::vector<Metric>& metrics, const Origin& origin) {
  ProtoWriter items;
  for (const auto& metric : metrics) {
    ProtoWriter point;
    put_attributes(point, 7, metric.attributes);
    if (metric.start_ns != 0) point.fixed64_field(2, metric.start_ns);
    point.fixed64_field(3, metric.time_ns);
    if (const auto* i = std::get_if<std::int64_t>(&metric.value)) {
      point.fixed64_field(6, static_cast<std::uint64_t>(*i));  // as_int is sfixed64
    } else {
      point.double_field(4, std::get<double>(metric.value));
    }
    ProtoWriter data;
    data.message_field(1, point);
    ProtoWriter m;
    m.bytes_field(1, metric.name);
    m.string_if_set(2, metric.description);
    m.string_if_set(3, metric.unit);
    if (metric.is_sum) {
      data.varint_field(2, 2);  // AGGREGATION_TEMPORALITY_CUMULATIVE
      if (metric.monotonic) data.bool_field(3, true);
      m.message_field(7, data);
    } else {
      m.message_field(5, data);
    }
    items.message_field(2, m);
  }
  return wrap(origin, items);
}

std::string logs_protobuf(const std::vector<LogRecord>& logs, const Origin& origin) {
  ProtoWriter items;
  for (const auto& l : logs) {
    ProtoWriter m;
    m.fixed64_field(1, l.time_ns);
    m.fixed64_field(11, l.time_ns);
    m.varint_field(2, static_cast<std::uint64_t>(l.severity_number));
    m.string_if_set(3, l.severity_text);
    ProtoWriter body;
    body.bytes_field(1, l.body);
    m.message_field(5, body);
    put_attributes(m, 6, l.attributes);
    if (!is_zero(l.trace_id)) m.bytes_field(9, id_bytes(l.trace_id));
    if (!is_zero(l.span_id)) m.bytes_field(10, id_bytes(l.span_id));
    items.message_field(2, m);
  }
  return wrap(origin, items);
}

// ---- OTLP/JSON ----

std::string hex(std::span<const std::uint8_t> id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : id) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

json::array attributes_json(const Attributes& attributes) {
  json::array out;
  for (const auto& a : attributes) {
    json::object value;
    if (const auto* s = std::get_if<std::string>(&a.value)) {
      value["stringValue"] = *s;
    } else if (const auto* b = std::get_if<bool>(&a.value)) {
      value["boolValue"] = *b;
    } else if (const auto* i = std::get_if<std::int64_t>(&a.value)) {
      value["intValue"] = std::to_string(*i);
    } else {
      value["doubleValue"] = std::get<double>(a.value);
    }
    out.push_back(json::object{{"key", a.key}, {"value", std::move(value)}});
  }
  return out;
}

std::string wrap_json(const Origin& origin, const char* resource_key, const char* scope_key,
                      const char* items_key, json::array items) {
  json::object scope{{"name", origin.scope_name}, {"version", origin.scope_version}};
  json::object scoped{{"scope", std::move(scope)}, {items_key, std::move(items)}};
  json::object resource{{"attributes", attributes_json(origin.resource)}};
  json::object level{{"resource", std::move(resource)},
                     {scope_key, json::array{std::move(scoped)}}};
  return json::serialize(json::object{{resource_key, json::array{std::move(level)}}});
}

std::string spans_json(const std::vector<Span>& spans, const Origin& origin) {
  json::array items;
  for (const auto& s : spans) {
    json::object o{
        {"traceId", hex(s.trace_id)},
        {"spanId", hex(s.span_id)},
        {"name", s.name},
        {"kind", s.kind},
        {"startTimeUnixNano", std::to_string(s.start_ns)},
        {"endTimeUnixNano", std::to_string(s.end_ns)},
        {"attributes", attributes_json(s.attributes)},
        {"status", json::object{{"code", s.status_code}, {"message", s.status_message}}}};
    if (!is_zero(s.parent_span_id)) o["parentSpanId"] = hex(s.parent_span_id);
    items.push_back(std::move(o));
  }
  return wrap_json(origin, "resourceSpans", "scopeSpans", "spans", std::move(items));
}

std::string metrics_json(const std::vector<Metric>& metrics, const Origin& origin) {
  json::array items;
  for (const auto& m : metrics) {
    json::object point{{"timeUnixNano", std::to_string(m.time_ns)},
                       {"attributes", attributes_json(m.attributes)}};
    if (m.start_ns != 0) point["startTimeUnixNano"] = std::to_string(m.start_ns);
    if (const auto* i = std::get_if<std::int64_t>(&m.value)) {
      point["asInt"] = std::to_string(*i);
    } else {
      point["asDouble"] = std::get<double>(m.value);
    }
    json::object data{{"dataPoints", json::array{std::move(point)}}};
    json::object o{{"name", m.name}, {"description", m.description}, {"unit", m.unit}};
    if (m.is_sum) {
      data["aggregationTemporality"] = 2;
      data["isMonotonic"] = m.monotonic;
      o["sum"] = std::move(data);
    } else {
      o["gauge"] = std::move(data);
    }
    items.push_back(std::move(o));
  }
  return wrap_json(origin, "resourceMetrics", "scopeMetrics", "metrics", std::move(items));
}

std::string logs_json(const std::vector<LogRecord>& logs, const Origin& origin) {
  json::array items;
  for (const auto& l : logs) {
    json::object o{{"timeUnixNano", std::to_string(l.time_ns)},
                   {"observedTimeUnixNano", std::to_string(l.time_ns)},
                   {"severityNumber", l.severity_number},
                   {"severityText", l.severity_text},
                   {"body", json::object{{"stringValue", l.body}}},
                   {"attributes", attributes_json(l.attributes)}};
    if (!is_zero(l.trace_id)) o["traceId"] = hex(l.trace_id);
    if (!is_zero(l.span_id)) o["spanId"] = hex(l.span_id);
    items.push_back(std::move(o));
  }
  return wrap_json(origin, "resourceLogs", "scopeLogs", "logRecords", std::move(items));
}

}  // namespace

std::string encode_spans(const std::vector<Span>& spans, const Origin& origin, Encoding encoding) {
  return encoding == Encoding::json ? spans_json(spans, origin) : spans_protobuf(spans, origin);
}

std::string encode_metrics(const std::vector<Metric>& metrics, const Origin& origin,
                           Encoding encoding) {
  return encoding == Encoding::json ? metrics_json(metrics, origin)
                                    : metrics_protobuf(metrics, origin);
}

std::string encode_logs(const std::vector<LogRecord>& logs, const Origin& origin,
                        Encoding encoding) {
  return encoding == Encoding::json ? logs_json(logs, origin) : logs_protobuf(logs, origin);
}

}  // namespace voidbox::otlp
