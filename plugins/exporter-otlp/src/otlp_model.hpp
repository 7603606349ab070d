// The telemetry the exporter ships, parsed from the runtime's JSON records
// (the record format is in this plugin's README) and validated, so the
// encoders below never see a malformed id or a missing name.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "voidbox/plugin_abi.h"
#include "voidbox/sdk/error.hpp"

namespace voidbox::otlp {

using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;

struct Attribute {
  std::string key;
  std::variant<std::string, bool, std::int64_t, double> value;
};
using Attributes = std::vector<Attribute>;

struct Span {
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};  // all zero: a root span
  std::string name;
  int kind = 1;  // OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer
  std::uint64_t start_ns = 0;
  std::uint64_t end_ns = 0;
  int status_code = 0;  // 0 unset, 1 ok, 2 error
  std::string status_message;
  Attributes attributes;
};

struct Metric {
  std::string name;
  std::string description;
  std::string unit;
  bool is_sum = false;  // else a gauge
  bool monotonic = false;
  std::uint64_t start_ns = 0;
  std::uint64_t time_ns = 0;
  std::variant<std::int64_t, double> value;
  Attributes attributes;
};

struct LogRecord {
  std::uint64_t time_ns = 0;
  int severity_number = 9;  // OTLP SeverityNumber (INFO)
  std::string severity_text;
  std::string body;
  TraceId trace_id{};
  SpanId span_id{};
  Attributes attributes;
};

using Record = std::variant<Span, Metric, LogRecord>;

// One JSON record of `kind` into its typed form, or why it is refused.
sdk::Result<Record> parse_record(vb_record_kind kind, std::string_view json);

bool is_zero(std::span<const std::uint8_t> id);

}  // namespace voidbox::otlp
